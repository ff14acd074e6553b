package mapping

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/readers"
	"github.com/portagehq/portage/shared/textcut"
)

// RowError is one problem with one row; the row is not imported. Its JSON
// form is what import_jobs.errors holds.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

// maxErrorValue bounds the value quoted back in a row error.
const maxErrorValue = 200

// Map validates and normalizes one record. It returns the contact input, or
// the row's errors (every problem found, not just the first).
func (p *Plan) Map(rec readers.Record) (contacts.Input, []RowError) {
	var errs []RowError
	fail := func(col, val, msg string) {
		errs = append(errs, RowError{Row: rec.Row, Column: col, Value: textcut.Bytes(val, maxErrorValue), Message: msg})
	}
	for _, pr := range rec.Problems {
		fail(pr.Column, pr.Value, pr.Message)
	}
	in := contacts.Input{Mapped: p.mappedMask()}
	var name string
	for i, c := range p.columns {
		if c.kind == ignored || i >= len(rec.Values) {
			continue
		}
		col := p.header[i]
		raw := textMarkerless(strings.TrimSpace(rec.Values[i]))
		if strings.ContainsRune(raw, 0) {
			fail(col, strings.ReplaceAll(raw, "\x00", "\\0"), "value contains a NUL character")
			continue
		}
		switch c.kind {
		case standard:
			if alts := p.alternates[c.field]; len(alts) > 0 || multiValued[c.field] != "" && strings.Contains(raw, multiValueSep) {
				var more []string
				raw, more = p.severalValues(raw, alts, rec.Values)
				if len(more) > 0 {
					if in.Custom == nil {
						in.Custom = map[string]any{}
					}
					in.Custom[multiValued[c.field]] = strings.Join(more, ", ")
				}
			}
			if c.field == contacts.Street && len(p.streetLines) > 0 {
				raw = p.joinLines(raw, rec.Values)
			}
			v, err := normalize(c.field, raw)
			if err != "" {
				fail(col, raw, err)
				continue
			}
			in.Values[c.field] = v
		case fullName:
			name = raw
		case tags:
			t, err := splitTags(raw)
			if err != "" {
				fail(col, raw, err)
				continue
			}
			in.Tags = t
		case custom:
			v, err := p.customValue(c.custom, raw)
			if err != "" {
				fail(col, raw, err)
				continue
			}
			if in.Custom == nil {
				in.Custom = make(map[string]any, len(p.customNames))
			}
			in.Custom[c.custom] = v
		}
	}
	if name != "" {
		first, last := splitName(name)
		if p.mapped[contacts.FirstName] && in.Values[contacts.FirstName] == "" {
			in.Values[contacts.FirstName] = first
		}
		if p.mapped[contacts.LastName] && in.Values[contacts.LastName] == "" {
			in.Values[contacts.LastName] = last
		}
	}
	if in.Values[contacts.Email] == "" && !hasColumnError(errs, p.emailColumn()) {
		fail(p.emailColumn(), "", "email is required: it is the match key")
	}
	if len(errs) > 0 {
		return contacts.Input{}, errs
	}
	return in, nil
}

func (p *Plan) mappedMask() uint32 {
	var m uint32
	for f, ok := range p.mapped {
		if ok {
			m |= 1 << f
		}
	}
	return m
}

func (p *Plan) emailColumn() string {
	for i, c := range p.columns {
		if c.kind == standard && c.field == contacts.Email {
			return p.header[i]
		}
	}
	return "email"
}

func hasColumnError(errs []RowError, col string) bool {
	for _, e := range errs {
		if e.Column == col {
			return true
		}
	}
	return false
}

// normalize returns the stored form of a standard field's value, or why it
// is not acceptable. Blank stays blank.
func normalize(f contacts.Field, v string) (string, string) {
	if v == "" {
		return "", ""
	}
	var msg string
	switch f {
	case contacts.Email:
		v, msg = normalizeEmail(v)
	case contacts.Phone:
		v, msg = normalizePhone(v)
	case contacts.Website:
		v, msg = normalizeWebsite(v)
	default:
		v = strings.Join(strings.Fields(v), " ")
	}
	if msg != "" {
		return "", msg
	}
	if n := utf8.RuneCountInString(v); n > f.MaxLen() {
		return "", fmt.Sprintf("%s is %d characters long, more than the %d allowed", f.Name(), n, f.MaxLen())
	}
	return v, ""
}

// multiValueSep separates the values of one cell in Google Contacts'
// exports ("a@x.com ::: b@y.com").
const multiValueSep = " ::: "

// multiValued names the custom field that keeps a cell's other values.
var multiValued = map[contacts.Field]string{contacts.Email: "other_emails", contacts.Phone: "other_phones",
	contacts.Website: "other_websites"}

// severalValues splits the values a contact has for one field, from its
// column (several in one cell with Google's " ::: ") and its alternate
// columns: the first is the field's, the others are returned to be kept.
func (p *Plan) severalValues(raw string, alts []int, values []string) (string, []string) {
	var all []string
	add := func(v string) {
		for _, part := range strings.Split(v, multiValueSep) {
			if part = textMarkerless(strings.TrimSpace(part)); part != "" && !slices.Contains(all, part) {
				all = append(all, part)
			}
		}
	}
	add(raw)
	for _, i := range alts {
		if i < len(values) {
			add(values[i])
		}
	}
	if len(all) == 0 {
		return "", nil
	}
	return all[0], all[1:]
}

// joinLines appends the street's further lines to it.
func (p *Plan) joinLines(street string, values []string) string {
	parts := []string{}
	if street != "" {
		parts = append(parts, street)
	}
	for _, i := range p.streetLines {
		if i < len(values) {
			if v := strings.TrimSpace(values[i]); v != "" {
				parts = append(parts, v)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// textMarkerless drops the apostrophe a spreadsheet puts before digits to
// keep them text (Shopify's '02134 and '+15551234567); an apostrophe before
// letters ('t Hooft) is part of the value.
func textMarkerless(v string) string {
	if len(v) > 1 && v[0] == '\'' && (v[1] >= '0' && v[1] <= '9' || v[1] == '+') {
		return v[1:]
	}
	return v
}

// splitTags reads a tag list in the forms exporters write: "a, b", "a; b",
// "a|b", Mailchimp's quoted list "\"Customer\",\"Newsletter\"", Google's
// labels "* myContacts ::: Friends" (the system group every contact is in is
// no tag of its own).
func splitTags(raw string) ([]string, string) {
	if raw == "" {
		return nil, ""
	}
	raw = strings.ReplaceAll(raw, multiValueSep, ",")
	seen := map[string]bool{}
	var out []string
	for _, t := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		t = strings.Join(strings.Fields(t), " ")
		t = strings.TrimSpace(strings.Trim(t, `"`))
		t = strings.TrimPrefix(t, "* ")
		if t == "" || seen[strings.ToLower(t)] || t == "myContacts" {
			continue
		}
		if utf8.RuneCountInString(t) > contacts.MaxTagLen {
			return nil, fmt.Sprintf("tag %q is longer than %d characters", textcut.Bytes(t, maxErrorValue), contacts.MaxTagLen)
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	if len(out) > contacts.MaxTags {
		return nil, fmt.Sprintf("%d tags, more than the %d allowed", len(out), contacts.MaxTags)
	}
	return out, ""
}

func (p *Plan) customValue(name, raw string) (any, string) {
	if raw == "" {
		return "", ""
	}
	switch p.opts.CustomFieldTypes[name] {
	case "number":
		n, ok, why := parseNumber(raw)
		if why != "" {
			return nil, fmt.Sprintf("custom.%s: the number %s", name, why)
		}
		if !ok {
			return nil, fmt.Sprintf("custom.%s must be a number", name)
		}
		return json.Number(n), ""
	case "boolean":
		b, ok := parseBool(raw)
		if !ok {
			return nil, fmt.Sprintf("custom.%s must be yes/no, true/false or 1/0", name)
		}
		return b, ""
	case "date":
		d, msg := parseDate(raw, p.opts.DateFormat)
		if msg != "" {
			return nil, fmt.Sprintf("custom.%s: %s", name, msg)
		}
		return d, ""
	}
	if n := utf8.RuneCountInString(raw); n > contacts.MaxCustomValueLen {
		return nil, fmt.Sprintf("custom.%s is %d characters long, more than the %d allowed", name, n, contacts.MaxCustomValueLen)
	}
	return raw, ""
}

// splitName splits "Ada Lovelace" and "Lovelace, Ada" into first and last.
func splitName(s string) (first, last string) {
	if before, after, ok := strings.Cut(s, ","); ok {
		return strings.TrimSpace(after), strings.TrimSpace(before)
	}
	parts := strings.Fields(s)
	if len(parts) == 1 {
		return parts[0], ""
	}
	return strings.Join(parts[:len(parts)-1], " "), parts[len(parts)-1]
}
