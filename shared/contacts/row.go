package contacts

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// Row is a contacts row as to_jsonb(contacts.*) writes it: the snapshot
// kept in import_events. Timestamps stay the text PostgreSQL wrote, so a
// snapshot restores to the microsecond.
type Row struct {
	ID          uuid.UUID
	TenantID    uuid.UUID
	WorkspaceID *uuid.UUID
	Values      [NumFields]*string
	Tags        []string
	Custom      map[string]json.RawMessage
	CreatedAt   string
	UpdatedAt   string
	DeletedAt   *string
}

// UnmarshalJSON reads a to_jsonb(contacts.*) object.
func (r *Row) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = Row{}
	type member struct {
		name string
		dst  any
	}
	fields := []member{
		{"id", &r.ID}, {"tenant_id", &r.TenantID}, {"workspace_id", &r.WorkspaceID}, {"tags", &r.Tags},
		{"custom_fields", &r.Custom}, {"created_at", &r.CreatedAt}, {"updated_at", &r.UpdatedAt},
		{"deleted_at", &r.DeletedAt},
	}
	for f := Field(0); f < NumFields; f++ {
		fields = append(fields, member{f.Name(), &r.Values[f]})
	}
	for _, f := range fields {
		v, ok := raw[f.name]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return fmt.Errorf("contact field %s: %w", f.name, err)
		}
	}
	return nil
}

// MarshalJSON writes the row in the shape jsonb_populate_recordset(NULL::contacts, …)
// reads. Empty timestamps are left out (the SQL supplies now()).
func (r Row) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	m := make(map[string]any, NumFields+8)
	m["id"] = r.ID
	m["tenant_id"] = r.TenantID
	m["workspace_id"] = r.WorkspaceID
	for f := Field(0); f < NumFields; f++ {
		m[f.Name()] = r.Values[f]
	}
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	m["tags"] = tags
	custom := r.Custom
	if custom == nil {
		custom = map[string]json.RawMessage{}
	}
	m["custom_fields"] = custom
	if r.CreatedAt != "" {
		m["created_at"] = r.CreatedAt
	}
	if r.UpdatedAt != "" {
		m["updated_at"] = r.UpdatedAt
	}
	m["deleted_at"] = r.DeletedAt
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Value returns a text field, "" for NULL.
func (r *Row) Value(f Field) string {
	if r.Values[f] == nil {
		return ""
	}
	return *r.Values[f]
}

// MarshalValue encodes a custom field value the way jsonb prints it (no HTML
// escaping), so that equal values compare equal as bytes.
func MarshalValue(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
