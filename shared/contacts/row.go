package contacts

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// Row is a contacts row as its Snapshot writes it: the snapshot kept in
// import_events. Timestamps stay the text PostgreSQL wrote, so a
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

// UnmarshalJSON reads a snapshot (or a to_jsonb(contacts.*) object: the
// derived email_key is ignored).
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
