package contacts

import (
	"sort"
	"unicode/utf8"
)

// MarshalJSON writes the row as its Snapshot: with its timestamps set (as
// PostgreSQL prints them), it is equal as jsonb to what Snapshot gives.
// Empty timestamps are left out. It appends by hand: a chunk marshals
// thousands of rows, and a map per row through encoding/json was a large
// share of the chunk's time.
func (r Row) MarshalJSON() ([]byte, error) {
	return r.appendJSON(make([]byte, 0, 384)), nil
}

func (r *Row) appendJSON(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, r.ID.String()...)
	b = append(b, `","tenant_id":"`...)
	b = append(b, r.TenantID.String()...)
	b = append(b, `","workspace_id":`...)
	if r.WorkspaceID == nil {
		b = append(b, "null"...)
	} else {
		b = AppendJSONString(b, r.WorkspaceID.String())
	}
	for f := Field(0); f < NumFields; f++ {
		b = append(b, ',')
		b = AppendJSONString(b, f.Name())
		b = append(b, ':')
		if v := r.Values[f]; v == nil {
			b = append(b, "null"...)
		} else {
			b = AppendJSONString(b, *v)
		}
	}
	b = append(b, `,"tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, t)
	}
	b = append(b, `],"custom_fields":`...)
	b = r.appendCustom(b)
	if r.CreatedAt != "" {
		b = append(b, `,"created_at":`...)
		b = AppendJSONString(b, r.CreatedAt)
	}
	if r.UpdatedAt != "" {
		b = append(b, `,"updated_at":`...)
		b = AppendJSONString(b, r.UpdatedAt)
	}
	b = append(b, `,"deleted_at":`...)
	if r.DeletedAt == nil {
		b = append(b, "null"...)
	} else {
		b = AppendJSONString(b, *r.DeletedAt)
	}
	return append(b, '}')
}

// appendCustom appends the custom fields as a JSON object, keys sorted.
func (r *Row) appendCustom(b []byte) []byte {
	b = append(b, '{')
	keys := make([]string, 0, len(r.Custom))
	for k := range r.Custom {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = append(b, ':')
		b = append(b, r.Custom[k]...)
	}
	return append(b, '}')
}

// AppendJSONString appends s as a JSON string, as jsonb and to_json write
// it (the exporter writes json with it too): quotes, backslashes and
// control characters escaped, other characters as they are (no HTML
// escaping, like jsonb); invalid UTF-8 becomes U+FFFD, as encoding/json does.
// Runs of bytes that need no escape are copied whole: most values have none.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	if !utf8.ValidString(s) {
		return append(appendJSONEscaped(b, s), '"')
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = appendJSONEscaped(b, s[i:i+1])
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONEscaped appends s inside a JSON string, escaping what needs it
// and replacing invalid UTF-8 with U+FFFD, a byte or rune at a time.
func appendJSONEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
