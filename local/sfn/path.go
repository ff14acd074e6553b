package sfn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// lookup evaluates a reference path: $ (the input), $$ (the context object),
// then .field and [index] steps.
func lookup(path string, input, ctxObj any) (any, error) {
	var cur any
	rest := ""
	switch {
	case strings.HasPrefix(path, "$$"):
		cur, rest = ctxObj, path[2:]
	case strings.HasPrefix(path, "$"):
		cur, rest = input, path[1:]
	default:
		return nil, fmt.Errorf("%q is not a path", path)
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			key := rest[:end]
			rest = rest[end:]
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("path %s: %q is not in an object", path, key)
			}
			v, ok := m[key]
			if !ok {
				return nil, fmt.Errorf("path %s: no field %q", path, key)
			}
			cur = v
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %s: unclosed [", path)
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil {
				return nil, fmt.Errorf("path %s: only numeric indexes are implemented", path)
			}
			rest = rest[end+1:]
			a, ok := cur.([]any)
			if !ok || i < 0 || i >= len(a) {
				return nil, fmt.Errorf("path %s: index %d out of range", path, i)
			}
			cur = a[i]
		default:
			return nil, fmt.Errorf("path %s: unexpected %q", path, rest[0])
		}
	}
	return cur, nil
}

// applyTemplate builds a Parameters/ResultSelector/ItemSelector value: keys
// ending in .$ take the value at their path.
func applyTemplate(tmpl, input, ctxObj any) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			if strings.HasSuffix(k, ".$") {
				p, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("%s: a .$ field needs a path string", k)
				}
				if strings.HasPrefix(p, "States.") {
					return nil, fmt.Errorf("%s: intrinsic functions are not implemented by the local runner", k)
				}
				val, err := lookup(p, input, ctxObj)
				if err != nil {
					return nil, err
				}
				out[strings.TrimSuffix(k, ".$")] = val
				continue
			}
			val, err := applyTemplate(v, input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[k] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			val, err := applyTemplate(v, input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	}
	return tmpl, nil
}

// selectPath is InputPath/OutputPath: null gives {}, absent gives all.
func selectPath(p optPath, v, ctxObj any) (any, error) {
	p = p.or("$")
	if p.null {
		return map[string]any{}, nil
	}
	return lookup(p.path, v, ctxObj)
}

// placeResult is ResultPath: null keeps the input, $ replaces it, $.a.b
// sets a field in a copy of the input.
func placeResult(p optPath, input, result any) (any, error) {
	p = p.or("$")
	if p.null {
		return input, nil
	}
	if p.path == "$" {
		return result, nil
	}
	if !strings.HasPrefix(p.path, "$.") || strings.ContainsAny(p.path, "[]") {
		return nil, fmt.Errorf("ResultPath %q: only $.field.field paths are implemented", p.path)
	}
	root, ok := deepCopy(input).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("ResultPath %s: the input is not an object", p.path)
	}
	keys := strings.Split(p.path[2:], ".")
	cur := root
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	cur[keys[len(keys)-1]] = result
	return root, nil
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// Choice is one rule of a Choice state.
type Choice struct {
	Next string
	rule rule
}

type rule struct {
	variable  string
	op        string
	value     any
	valuePath string
	and, or   []rule
	not       *rule
}

var comparisons = map[string]bool{
	"StringEquals": true, "StringLessThan": true, "StringGreaterThan": true, "StringLessThanEquals": true, "StringGreaterThanEquals": true,
	"NumericEquals": true, "NumericLessThan": true, "NumericGreaterThan": true, "NumericLessThanEquals": true, "NumericGreaterThanEquals": true,
	"BooleanEquals": true, "IsPresent": true, "IsNull": true, "IsString": true, "IsNumeric": true, "IsBoolean": true,
}

func (s *State) parseChoices(raw map[string]json.RawMessage, where string) error {
	if s.Type != "Choice" {
		return nil
	}
	var list []map[string]any
	if err := get(raw, "Choices", &list); err != nil || len(list) == 0 {
		return fmt.Errorf("%sChoices is required", where)
	}
	for i, c := range list {
		next, _ := c["Next"].(string)
		if next == "" {
			return fmt.Errorf("%sChoices[%d].Next is required", where, i)
		}
		delete(c, "Next")
		r, err := parseRule(c, fmt.Sprintf("%sChoices[%d].", where, i))
		if err != nil {
			return err
		}
		s.Choices = append(s.Choices, Choice{Next: next, rule: r})
	}
	return nil
}

func parseRule(m map[string]any, where string) (rule, error) {
	var r rule
	for k, v := range m {
		switch {
		case k == "Variable":
			r.variable, _ = v.(string)
		case k == "And" || k == "Or":
			list, _ := v.([]any)
			for _, x := range list {
				sub, _ := x.(map[string]any)
				sr, err := parseRule(sub, where+k+".")
				if err != nil {
					return r, err
				}
				if k == "And" {
					r.and = append(r.and, sr)
				} else {
					r.or = append(r.or, sr)
				}
			}
		case k == "Not":
			sub, _ := v.(map[string]any)
			sr, err := parseRule(sub, where+"Not.")
			if err != nil {
				return r, err
			}
			r.not = &sr
		case comparisons[k]:
			r.op, r.value = k, v
		case comparisons[strings.TrimSuffix(k, "Path")]:
			r.op = strings.TrimSuffix(k, "Path")
			r.valuePath, _ = v.(string)
		default:
			return r, fmt.Errorf("%s%s: not implemented by the local runner", where, k)
		}
	}
	return r, nil
}

func (r rule) eval(input, ctxObj any) (bool, error) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			if ok, err := s.eval(input, ctxObj); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			if ok, err := s.eval(input, ctxObj); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input, ctxObj)
		return !ok, err
	}
	v, err := lookup(r.variable, input, ctxObj)
	present := err == nil
	if r.op == "IsPresent" {
		return present == (r.value == true), nil
	}
	if !present {
		return false, nil
	}
	want := r.value
	if r.valuePath != "" {
		if want, err = lookup(r.valuePath, input, ctxObj); err != nil {
			return false, nil
		}
	}
	switch r.op {
	case "IsNull":
		return (v == nil) == (want == true), nil
	case "IsString":
		_, ok := v.(string)
		return ok == (want == true), nil
	case "IsNumeric":
		_, ok := v.(json.Number)
		return ok == (want == true), nil
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == (want == true), nil
	case "BooleanEquals":
		return v == want, nil
	}
	if strings.HasPrefix(r.op, "String") {
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		return compare(strings.Compare(a, b), strings.TrimPrefix(r.op, "String")), nil
	}
	a, ok1 := number(v)
	b, ok2 := number(want)
	if !ok1 || !ok2 {
		return false, nil
	}
	c := 0
	if a < b {
		c = -1
	} else if a > b {
		c = 1
	}
	return compare(c, strings.TrimPrefix(r.op, "Numeric")), nil
}

func compare(c int, op string) bool {
	switch op {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}
