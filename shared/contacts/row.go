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

type rowJSON struct {
	ID          uuid.UUID                  `json:"id"`
	TenantID    uuid.UUID                  `json:"tenant_id"`
	WorkspaceID *uuid.UUID                 `json:"workspace_id"`
	Tags        []string                   `json:"tags"`
	Custom      map[string]json.RawMessage `json:"custom_fields"`
	CreatedAt   string                     `json:"created_at,omitempty"`
	UpdatedAt   string                     `json:"updated_at,omitempty"`
	DeletedAt   *string                    `json:"deleted_at"`
}

// UnmarshalJSON reads a to_jsonb(contacts.*) object.
func (r *Row) UnmarshalJSON(b []byte) error {
	var base rowJSON
	if err := json.Unmarshal(b, &base); err != nil {
		return err
	}
	var all map[string]*string
	// Non-string members (tags, custom_fields) fail this decode, so read the
	// text fields one by one from a raw map.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	all = make(map[string]*string, NumFields)
	for f := Field(0); f < NumFields; f++ {
		v, ok := raw[f.Name()]
		if !ok || string(v) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("contact field %s: %w", f.Name(), err)
		}
		all[f.Name()] = &s
	}
	*r = Row{ID: base.ID, TenantID: base.TenantID, WorkspaceID: base.WorkspaceID, Tags: base.Tags,
		Custom: base.Custom, CreatedAt: base.CreatedAt, UpdatedAt: base.UpdatedAt, DeletedAt: base.DeletedAt}
	for f := Field(0); f < NumFields; f++ {
		r.Values[f] = all[f.Name()]
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
