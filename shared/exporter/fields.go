package exporter

import (
	"regexp"
	"strings"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
)

// DefaultFields are exported when selected_fields is empty: every standard
// field, the tags and the timestamps.
var DefaultFields = func() []string {
	var out []string
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		out = append(out, f.Name())
	}
	return append(out, "tags", "created_at", "updated_at")
}()

var extraFields = map[string]bool{"id": true, "workspace_id": true, "tags": true, "created_at": true, "updated_at": true}

var customName = regexp.MustCompile(`^[a-z0-9_][a-z0-9_ -]{0,63}$`)

// MaxFields is the most fields an export may hold.
const MaxFields = 16384

// CheckFields validates selected_fields: standard fields, id, workspace_id,
// tags, created_at, updated_at and custom.<name>, each once.
func CheckFields(fields []string) error {
	// An Excel sheet holds 16,384 columns; no format gets more, so that
	// no export is refused only once it is written.
	if len(fields) > MaxFields {
		return apperr.Invalidf("selected_fields names %d fields; an export holds at most %d (an Excel sheet's columns)", len(fields), MaxFields)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f] {
			return apperr.Invalidf("selected_fields names %q twice", f)
		}
		seen[f] = true
		if _, ok := contacts.FieldByName(f); ok || extraFields[f] {
			continue
		}
		if name, ok := strings.CutPrefix(f, "custom."); ok && customName.MatchString(name) {
			continue
		}
		return apperr.Invalidf("selected_fields: unknown field %q; use contact fields, id, workspace_id, tags, created_at, updated_at or custom.<name>", f)
	}
	return nil
}
