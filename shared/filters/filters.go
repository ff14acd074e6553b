// Package filters owns the export filter language of docs/design.md §6 and its
// compilation to parameterized SQL: every value is a bind parameter, every
// field name comes from a fixed list, and anything unknown is an error that
// names it.
package filters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
)

// Filter is a parsed filter; its zero value matches every live contact.
type Filter struct {
	Tags          []string    `json:"tags,omitempty"`
	TagsAll       []string    `json:"tags_all,omitempty"`
	CreatedAfter  *time.Time  `json:"created_after,omitempty"`
	CreatedBefore *time.Time  `json:"created_before,omitempty"`
	UpdatedAfter  *time.Time  `json:"updated_after,omitempty"`
	UpdatedBefore *time.Time  `json:"updated_before,omitempty"`
	WorkspaceID   *uuid.UUID  `json:"workspace_id,omitempty"`
	Where         []Condition `json:"where,omitempty"`
}

// Condition is one {"field", "op", "value"} of where.
type Condition struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value string `json:"value,omitempty"`
}

var knownKeys = map[string]bool{"tags": true, "tags_all": true, "created_after": true, "created_before": true,
	"updated_after": true, "updated_before": true, "workspace_id": true, "where": true}

var ops = map[string]bool{"eq": true, "neq": true, "contains": true, "starts_with": true, "empty": true, "not_empty": true}

var customName = regexp.MustCompile(`^[a-z0-9_][a-z0-9_ -]{0,63}$`)

// Parse reads and validates a filter. An empty or null document is the
// match-all filter.
func Parse(raw []byte) (Filter, error) {
	var f Filter
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return f, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return f, apperr.Invalidf("%s", "filters must be a JSON object: "+err.Error())
	}
	var unknown []string
	for k := range keys {
		if !knownKeys[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return f, apperr.Invalidf("unknown filter key %s; use tags, tags_all, created_after, created_before, updated_after, updated_before, workspace_id, where", quote(unknown))
	}
	for k, v := range keys {
		if err := decodeKey(k, v, &f); err != nil {
			return f, err
		}
	}
	for i, c := range f.Where {
		if !ops[c.Op] {
			return f, apperr.Invalidf("where[%d]: unknown operator %q; use eq, neq, contains, starts_with, empty, not_empty", i, c.Op)
		}
		if _, _, err := column(c.Field); err != nil {
			return f, apperr.Invalidf("where[%d]: %v", i, err)
		}
		if (c.Op == "empty" || c.Op == "not_empty") && c.Value != "" {
			return f, apperr.Invalidf("where[%d]: %s takes no value", i, c.Op)
		}
	}
	return f, nil
}

func decodeKey(k string, v json.RawMessage, f *Filter) error {
	var err error
	switch k {
	case "tags":
		err = json.Unmarshal(v, &f.Tags)
	case "tags_all":
		err = json.Unmarshal(v, &f.TagsAll)
	case "created_after":
		err = json.Unmarshal(v, &f.CreatedAfter)
	case "created_before":
		err = json.Unmarshal(v, &f.CreatedBefore)
	case "updated_after":
		err = json.Unmarshal(v, &f.UpdatedAfter)
	case "updated_before":
		err = json.Unmarshal(v, &f.UpdatedBefore)
	case "workspace_id":
		err = json.Unmarshal(v, &f.WorkspaceID)
	case "where":
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		err = dec.Decode(&f.Where)
	}
	if err != nil {
		hint := ""
		if strings.HasSuffix(k, "_after") || strings.HasSuffix(k, "_before") {
			hint = " (an RFC 3339 time such as 2024-03-04T00:00:00Z)"
		}
		return apperr.Invalidf("filter %q: %v%s", k, err, hint)
	}
	return nil
}

// column resolves a where field: a standard column from the fixed list
// (its SQL), or a custom field (its name, checked against a strict pattern,
// which SQL binds as a parameter).
func column(field string) (sql, custom string, err error) {
	if f, ok := contacts.FieldByName(field); ok {
		return "c." + f.Name(), "", nil
	}
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		if !customName.MatchString(name) {
			return "", "", fmt.Errorf("custom field name %q is not valid", name)
		}
		return "", name, nil
	}
	return "", "", fmt.Errorf("unknown field %q; use a contact field or custom.<name>", field)
}

// SQL compiles the filter to a WHERE condition over contacts aliased c,
// with its arguments numbered after the first `offset` ones. It always
// includes the transaction's tenant (row-level security enforces it too)
// and the live-contact condition.
func (f Filter) SQL(offset int) (string, []any) {
	conds := []string{"c.tenant_id = portage_current_tenant()", "c.deleted_at IS NULL"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", offset+len(args))
	}
	if len(f.Tags) > 0 {
		conds = append(conds, "c.tags && "+arg(f.Tags)+"::text[]")
	}
	if len(f.TagsAll) > 0 {
		conds = append(conds, "c.tags @> "+arg(f.TagsAll)+"::text[]")
	}
	if f.CreatedAfter != nil {
		conds = append(conds, "c.created_at > "+arg(*f.CreatedAfter)+"::timestamptz")
	}
	if f.CreatedBefore != nil {
		conds = append(conds, "c.created_at < "+arg(*f.CreatedBefore)+"::timestamptz")
	}
	if f.UpdatedAfter != nil {
		conds = append(conds, "c.updated_at > "+arg(*f.UpdatedAfter)+"::timestamptz")
	}
	if f.UpdatedBefore != nil {
		conds = append(conds, "c.updated_at < "+arg(*f.UpdatedBefore)+"::timestamptz")
	}
	if f.WorkspaceID != nil {
		conds = append(conds, "c.workspace_id = "+arg(f.WorkspaceID.String())+"::uuid")
	}
	for _, w := range f.Where {
		col, custom, _ := column(w.Field)
		if custom != "" {
			col = "(c.custom_fields ->> " + arg(custom) + "::text)"
		}
		switch w.Op {
		case "eq":
			conds = append(conds, col+" = "+arg(w.Value)+"::text")
		case "neq":
			conds = append(conds, col+" IS DISTINCT FROM "+arg(w.Value)+"::text")
		case "contains":
			conds = append(conds, col+" ILIKE '%' || "+arg(likeEscape(w.Value))+"::text || '%'")
		case "starts_with":
			conds = append(conds, col+" ILIKE "+arg(likeEscape(w.Value))+"::text || '%'")
		case "empty":
			conds = append(conds, "coalesce("+col+", '') = ''")
		case "not_empty":
			conds = append(conds, "coalesce("+col+", '') <> ''")
		}
	}
	return strings.Join(conds, " AND "), args
}

// likeEscape makes a value match literally in LIKE (backslash is the
// default escape character).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func quote(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
