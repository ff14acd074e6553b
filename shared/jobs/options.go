package jobs

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/textcut"
)

// Duplicate strategies (import_options.duplicate_strategy).
const (
	Skip       = "skip"
	Update     = "update"
	Merge      = "merge"
	UpdateOnly = "update_only"
)

// Options is import_options. Unknown keys are refused when decoding.
type Options struct {
	// DuplicateStrategy says what a row whose key matches a live contact
	// does; default skip.
	DuplicateStrategy string `json:"duplicate_strategy,omitempty"`
	// OverwriteBlanks makes update and update_only clear a field the file
	// maps but leaves blank; by default blanks never erase.
	OverwriteBlanks bool `json:"overwrite_blanks,omitempty"`
	// Tags are added to every created or updated contact.
	Tags []string `json:"tags,omitempty"`
	// WorkspaceID is the workspace of created contacts.
	WorkspaceID *uuid.UUID `json:"workspace_id,omitempty"`
	// DryRun validates and counts everything and keeps no contact or event.
	DryRun bool `json:"dry_run,omitempty"`
	// Sheet names the XLSX sheet to read; default the first visible one.
	Sheet string `json:"sheet,omitempty"`
	// HeaderRow is the row the column names are on (as a spreadsheet
	// numbers it); default: the row that looks like the header.
	HeaderRow int `json:"header_row,omitempty"`
	// RawErrorReport writes the error report's values as the file had
	// them; by default a value a spreadsheet would run as a formula is
	// made inert, as in exports.
	RawErrorReport bool `json:"raw_error_report,omitempty"`
	mapping.Options
}

// ParseOptions decodes and validates import_options.
func ParseOptions(raw []byte) (Options, error) {
	var o Options
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return o, apperr.Invalidf("import_options: %v", err)
		}
	}
	return o, o.Validate()
}

// Validate checks the options and fills defaults.
func (o *Options) Validate() error {
	if o.HeaderRow < 0 {
		return apperr.Invalidf("import_options.header_row %d: give the row number of the column names, 1 or more", o.HeaderRow)
	}
	switch o.DuplicateStrategy {
	case "":
		o.DuplicateStrategy = Skip
	case Skip, Update, Merge, UpdateOnly:
	default:
		return apperr.Invalidf("import_options.duplicate_strategy %q: use skip, update, merge or update_only", o.DuplicateStrategy)
	}
	if len(o.Tags) > contacts.MaxTags {
		return apperr.Invalidf("import_options.tags: %d tags, more than the %d a contact may have", len(o.Tags), contacts.MaxTags)
	}
	for _, t := range o.Tags {
		if strings.TrimSpace(t) == "" || utf8.RuneCountInString(t) > contacts.MaxTagLen {
			return apperr.Invalidf("import_options.tags: %q is not a tag (1–%d characters)", textcut.Runes(t, 40), contacts.MaxTagLen)
		}
	}
	return o.Options.Validate()
}
