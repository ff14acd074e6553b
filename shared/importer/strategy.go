package importer

import (
	"bytes"
	"encoding/json"
	"maps"
	"strings"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/jobs"
)

// outcome of one valid row.
type outcome int

const (
	created outcome = iota
	updated
	// skippedByStrategy: the strategy (skip) leaves the match as it is.
	skippedByStrategy
	// skippedUnchanged: the row would change nothing of its match.
	skippedUnchanged
	// skippedNoMatch: update_only and nothing to update; no contact, no event.
	skippedNoMatch
)

// newContact builds the contact a row creates.
func newContact(tenantID uuid.UUID, opts *jobs.Options, in *contacts.Input) (contacts.Row, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return contacts.Row{}, err
	}
	r := contacts.Row{ID: id, TenantID: tenantID, WorkspaceID: opts.WorkspaceID}
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		if v := in.Values[f]; v != "" {
			r.Values[f] = &v
		}
	}
	r.Tags = unionTags(nil, in.Tags, opts.Tags)
	for name, v := range in.Custom {
		if isBlank(v) {
			continue
		}
		raw, err := contacts.MarshalValue(v)
		if err != nil {
			return r, err
		}
		if r.Custom == nil {
			r.Custom = map[string]json.RawMessage{}
		}
		r.Custom[name] = raw
	}
	return r, nil
}

// applyStrategy computes what a row does to the live contact it matches:
// the row to write and whether it is an update or a skip. An update that
// would change nothing is a skip: updated_at is not touched for nothing.
func applyStrategy(opts *jobs.Options, in *contacts.Input, m *contacts.Row) (contacts.Row, outcome, error) {
	if opts.DuplicateStrategy == jobs.Skip {
		return *m, skippedByStrategy, nil
	}
	next := *m
	next.Custom = maps.Clone(m.Custom)
	mergeOnly := opts.DuplicateStrategy == jobs.Merge
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		if f == contacts.Email || !in.IsMapped(f) {
			continue // the key never changes; unmapped fields are never touched
		}
		v := in.Values[f]
		switch {
		case mergeOnly:
			if v != "" && m.Value(f) == "" {
				next.Values[f] = &v
			}
		case v != "":
			next.Values[f] = &v
		case opts.OverwriteBlanks:
			next.Values[f] = nil
		}
	}
	for name, v := range in.Custom {
		old, has := m.Custom[name]
		switch {
		case isBlank(v):
			if !mergeOnly && opts.OverwriteBlanks && has {
				delete(next.Custom, name)
			}
		case mergeOnly && has && !isBlankJSON(old):
		default:
			raw, err := contacts.MarshalValue(v)
			if err != nil {
				return next, skippedUnchanged, err
			}
			if next.Custom == nil {
				next.Custom = map[string]json.RawMessage{}
			}
			next.Custom[name] = raw
		}
	}
	next.Tags = unionTags(m.Tags, in.Tags, opts.Tags)
	if sameContent(&next, m) {
		return *m, skippedUnchanged, nil
	}
	return next, updated, nil
}

// unionTags appends to base the tags it lacks, compared case-insensitively;
// an import adds tags and never removes one.
func unionTags(base []string, more ...[]string) []string {
	seen := make(map[string]bool, len(base))
	out := make([]string, 0, len(base))
	for _, t := range base {
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	for _, list := range more {
		for _, t := range list {
			t = strings.TrimSpace(t)
			if t == "" || seen[strings.ToLower(t)] {
				continue
			}
			seen[strings.ToLower(t)] = true
			out = append(out, t)
		}
	}
	return out
}

func sameContent(a, b *contacts.Row) bool {
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		if (a.Values[f] == nil) != (b.Values[f] == nil) || a.Value(f) != b.Value(f) {
			return false
		}
	}
	if len(a.Tags) != len(b.Tags) || len(a.Custom) != len(b.Custom) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	for k, v := range a.Custom {
		if w, ok := b.Custom[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func isBlank(v any) bool {
	s, ok := v.(string)
	return v == nil || ok && strings.TrimSpace(s) == ""
}

func isBlankJSON(raw json.RawMessage) bool {
	s := string(raw)
	return s == "null" || s == `""`
}
