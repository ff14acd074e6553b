package importer_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/jobs"
)

// existing is the contact already in the CRM before each case's import.
const existingSQL = `INSERT INTO contacts (id, tenant_id, email, first_name, last_name, phone, company, tags, custom_fields, created_at, updated_at)
	VALUES ($1, $2, 'Ada@Example.com', 'Ada', NULL, '+100000000', 'Old Co', '{vip}', '{"plan":"free","seats":3}', '2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z')`

func TestDuplicateStrategies(t *testing.T) {
	t.Parallel()
	// The file always maps email, first_name, last_name, company and two custom fields;
	// phone is not in the file and must never change.
	header := "email,first_name,last_name,company,tags,plan,region_code\n"
	mapping := map[string]string{"plan": "custom.plan", "region_code": "custom.region_code"}
	type want struct {
		outcome string // created | updated | skipped
		first   string
		last    *string
		company *string
		tags    string
		custom  string
	}
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		row  string
		opts jobs.Options
		want want
	}{
		{"SkipLeavesMatchUntouched", "ada@example.com,Ada B,Lovelace,,x,pro,\n", jobs.Options{DuplicateStrategy: "skip", Tags: []string{"t"}},
			want{"skipped", "Ada", nil, str("Old Co"), "vip", `{"plan": "free", "seats": 3}`}},
		{"UpdateOverwritesWithNonBlank", "ADA@example.com,Ada B,Lovelace,,x,pro,\n", jobs.Options{DuplicateStrategy: "update"},
			want{"updated", "Ada B", str("Lovelace"), str("Old Co"), "vip,x", `{"plan": "pro", "seats": 3}`}},
		{"UpdateOverwriteBlanksClearsMappedBlanks", "ada@example.com,Ada,,,,,\n", jobs.Options{DuplicateStrategy: "update", OverwriteBlanks: true},
			want{"updated", "Ada", nil, nil, "vip", `{"seats": 3}`}},
		{"MergeFillsOnlyBlanks", "ada@example.com,Zed,Lovelace,New Co,,pro,eu\n", jobs.Options{DuplicateStrategy: "merge"},
			want{"updated", "Ada", str("Lovelace"), str("Old Co"), "vip", `{"plan": "free", "seats": 3, "region_code": "eu"}`}},
		{"MergeIgnoresOverwriteBlanks", "ada@example.com,,,,,,\n", jobs.Options{DuplicateStrategy: "merge", OverwriteBlanks: true},
			want{"skipped", "Ada", nil, str("Old Co"), "vip", `{"plan": "free", "seats": 3}`}},
		{"UpdateOnlyUpdatesMatches", "ada@example.com,Ada,Lovelace,,,,\n", jobs.Options{DuplicateStrategy: "update_only"},
			want{"updated", "Ada", str("Lovelace"), str("Old Co"), "vip", `{"plan": "free", "seats": 3}`}},
		{"TagsAddedToUpdated", "ada@example.com,,,,VIP;new,,\n", jobs.Options{DuplicateStrategy: "update", Tags: []string{"import-1", "vip"}},
			want{"updated", "Ada", nil, str("Old Co"), "vip,new,import-1", `{"plan": "free", "seats": 3}`}},
		// Same values as stored: nothing changes, so it is a skip and updated_at stays.
		{"UpdateWithNothingNewIsSkip", "ada@example.com,Ada,,Old Co,vip,free,\n", jobs.Options{DuplicateStrategy: "update"},
			want{"skipped", "Ada", nil, str("Old Co"), "vip", `{"plan": "free", "seats": 3}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			existingID := uuid.New()
			e.Tx(t, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, existingSQL, existingID, e.Tenant)
				return err
			})
			before := e.live(t)["Ada@Example.com"]
			j := e.Run(t, e.NewJob(t, "f.csv", header+tt.row, mapping, tt.opts))
			got := map[string]int{"created": j.CreatedCount, "updated": j.UpdatedCount, "skipped": j.SkippedCount}
			if got[tt.want.outcome] != 1 || j.CreatedCount+j.UpdatedCount+j.SkippedCount != 1 {
				t.Fatalf("counters %+v, want one %s", got, tt.want.outcome)
			}
			live := e.live(t)
			if len(live) != 1 {
				t.Fatalf("%d live contacts, want the one match", len(live))
			}
			c := live["Ada@Example.com"]
			if c.ID != existingID {
				t.Fatal("the match was replaced, not updated; the email (match key) must not change")
			}
			if c.Value(contacts.FirstName) != tt.want.first || !reflect.DeepEqual(c.Values[contacts.LastName], tt.want.last) ||
				!reflect.DeepEqual(c.Values[contacts.Company], tt.want.company) || strings.Join(c.Tags, ",") != tt.want.tags {
				t.Errorf("contact = first %q last %v company %v tags %v", c.Value(contacts.FirstName), c.Values[contacts.LastName], c.Values[contacts.Company], c.Tags)
			}
			if c.Value(contacts.Phone) != "+100000000" {
				t.Errorf("phone, which the file does not map, changed to %q", c.Value(contacts.Phone))
			}
			var gotCustom, wantCustom map[string]any
			customJSON, _ := json.Marshal(c.Custom)
			json.Unmarshal(customJSON, &gotCustom)
			json.Unmarshal([]byte(tt.want.custom), &wantCustom)
			if !reflect.DeepEqual(gotCustom, wantCustom) {
				t.Errorf("custom_fields = %s, want %s", customJSON, tt.want.custom)
			}
			if tt.want.outcome == "skipped" && c.UpdatedAt != before.UpdatedAt {
				t.Errorf("a skipped match's updated_at moved from %s to %s", before.UpdatedAt, c.UpdatedAt)
			}
			// One event for the contact, with the exact snapshots before and after.
			var typ string
			var prev, next []byte
			e.Tx(t, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT event_type, previous_data, new_data FROM import_events WHERE import_job_id = $1`, j.ID).
					Scan(&typ, &prev, &next)
			})
			var prevRow, nextRow contacts.Row
			json.Unmarshal(prev, &prevRow)
			json.Unmarshal(next, &nextRow)
			if typ != tt.want.outcome || !reflect.DeepEqual(prevRow, before) || !reflect.DeepEqual(nextRow, c) {
				t.Errorf("event %s\nprevious %s\nnew %s", typ, prev, next)
			}
		})
	}

	t.Run("UpdateOnlySkipsUnknown", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		j := e.Import(t, "f.csv", "email\nnew@example.com\n", jobs.Options{DuplicateStrategy: "update_only"})
		if j.SkippedCount != 1 || j.CreatedCount != 0 || len(e.live(t)) != 0 {
			t.Fatalf("update_only created a contact: %+v", countersOf(j))
		}
		if n := e.Count(t, `SELECT count(*) FROM import_events`); n != 0 {
			t.Fatalf("%d events for a row that touched no contact", n)
		}
	})
	// A workspace given in the options is the workspace of created contacts.
	t.Run("WorkspaceOfCreated", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ws := uuid.New()
		e.Tx(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `INSERT INTO workspaces (id, tenant_id) VALUES ($1, $2)`, ws, e.Tenant)
			return err
		})
		e.Import(t, "f.csv", "email\nnew@example.com\n", jobs.Options{WorkspaceID: &ws})
		if c := e.live(t)["new@example.com"]; c.WorkspaceID == nil || *c.WorkspaceID != ws {
			t.Fatalf("workspace = %v, want %s", c.WorkspaceID, ws)
		}
	})
}

// A dry run validates and counts like a real run and keeps no contact or event.
func TestDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.Tx(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, existingSQL, uuid.New(), e.Tenant)
		return err
	})
	before := e.contentDigest(t)
	file := "email,first_name\nada@example.com,Changed\nnew@example.com,New\nbad,x\nnew@example.com,Dup\n"
	j := e.Import(t, "f.csv", file, jobs.Options{DuplicateStrategy: "update", DryRun: true})
	if got := countersOf(j); got != (counters{Total: 4, Created: 1, Updated: 1, Skipped: 1, Errors: 1, Processed: 4, Imported: 2}) {
		t.Fatalf("dry-run counters = %+v", got)
	}
	if after := e.contentDigest(t); after != before {
		t.Fatal("a dry run changed the contacts")
	}
	if n := e.Count(t, `SELECT count(*) FROM import_events`); n != 0 {
		t.Fatalf("a dry run wrote %d events", n)
	}
	if j.CanRollback {
		t.Fatal("a dry run must not be rollbackable")
	}
}

// Skipped rows are told apart: a repeat of an earlier row of the file, a
// match the row would not change, a match the skip strategy leaves alone,
// and (update_only) a row with nothing to update. The parts add up to
// skipped_count, and the repeats are listed with the row they repeat.
func TestSkippedBreakdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Import(t, "seed.csv", "email,first_name\na@x.io,Ann\nb@x.io,Bo\n", jobs.Options{})
	skipsOf := func(j jobs.ImportJob) jobs.Skips {
		var s jobs.ChunkSums
		e.Tx(t, func(tx pgx.Tx) (err error) { s, err = jobs.SumChunks(context.Background(), tx, j.ID); return err })
		if s.SkippedBy.Total() != j.SkippedCount {
			t.Fatalf("skipped %d, but its parts %+v add up to %d", j.SkippedCount, s.SkippedBy, s.SkippedBy.Total())
		}
		return s.SkippedBy
	}
	j := e.Import(t, "skip.csv", "email,first_name\na@x.io,Changed\nc@x.io,Cy\nA@X.IO,Again\n", jobs.Options{DuplicateStrategy: jobs.Skip})
	if got := skipsOf(j); got != (jobs.Skips{InFileDuplicates: 1, KeptByStrategy: 1}) {
		t.Errorf("skip strategy: %+v", got)
	}
	var dups []jobs.Duplicate
	e.Tx(t, func(tx pgx.Tx) error {
		raw, err := jobs.FirstChunkDuplicates(context.Background(), tx, j.ID, 10)
		if err == nil {
			err = json.Unmarshal(raw, &dups)
		}
		return err
	})
	if len(dups) != 1 || dups[0] != (jobs.Duplicate{Row: 4, DuplicateOf: 2}) {
		t.Errorf("duplicates listed: %+v, want row 4 repeating row 2", dups)
	}
	j = e.Import(t, "update.csv", "email,first_name\nb@x.io,Bo\nc@x.io,Cyrus\n", jobs.Options{DuplicateStrategy: jobs.Update})
	if got := skipsOf(j); got != (jobs.Skips{Unchanged: 1}) || j.UpdatedCount != 1 {
		t.Errorf("update strategy: %+v, %d updated", got, j.UpdatedCount)
	}
	j = e.Import(t, "only.csv", "email,first_name\nnew@x.io,N\nb@x.io,Bob\n", jobs.Options{DuplicateStrategy: jobs.UpdateOnly})
	if got := skipsOf(j); got != (jobs.Skips{NoMatch: 1}) || j.UpdatedCount != 1 {
		t.Errorf("update_only: %+v, %d updated", got, j.UpdatedCount)
	}
}
