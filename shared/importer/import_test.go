package importer_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
)

func TestImportCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := "E-mail Address,Given Name,Surname,Mobile Phone,Zip,Tags\n" +
		"ada@example.com,Ada,Lovelace,+44 20 7946 0958,02134,vip\n" +
		"not-an-email,Bob,,,,\n" +
		"ADA@example.com ,Ada,Again,,,\n" +
		"carl@example.com,Carl,,(555) 123-4567,,\"a, b\"\n" +
		",Nobody,,,,\n"
	j := e.Import(t, "people.csv", file, jobs.Options{Tags: []string{"imported"}})

	want := counters{Total: 5, Created: 2, Updated: 0, Skipped: 1, Errors: 2, Processed: 5, Imported: 2}
	if got := countersOf(j); got != want {
		t.Fatalf("counters = %+v, want %+v", got, want)
	}
	if j.Status != jobs.StatusCompleted || j.CompletedAt == nil || j.StartedAt == nil || j.FileType != "csv" {
		t.Fatalf("job = %+v", j)
	}
	live := e.live(t)
	ada := live["ada@example.com"]
	if ada.Value(contacts.FirstName) != "Ada" || ada.Value(contacts.LastName) != "Lovelace" ||
		ada.Value(contacts.Phone) != "+442079460958" || ada.Value(contacts.PostalCode) != "02134" ||
		strings.Join(ada.Tags, ",") != "vip,imported" {
		t.Errorf("ada = %+v", ada)
	}
	if c := live["carl@example.com"]; strings.Join(c.Tags, ",") != "a,b,imported" || c.Values[contacts.LastName] != nil {
		t.Errorf("carl = %+v (blank fields must stay NULL)", c)
	}
	if len(live) != 2 {
		t.Errorf("%d live contacts, want 2", len(live))
	}

	var errs []mapping.RowError
	if err := json.Unmarshal(j.Errors, &errs); err != nil {
		t.Fatal(err)
	}
	wantErrs := []mapping.RowError{
		{Row: 3, Column: "E-mail Address", Value: "not-an-email", Message: "not a valid email address: it has no @"},
		{Row: 6, Column: "E-mail Address", Message: "email is required: it is the match key"},
	}
	if len(errs) != 2 || errs[0] != wantErrs[0] || errs[1] != wantErrs[1] {
		t.Errorf("errors = %+v, want %+v", errs, wantErrs)
	}

	// The full report has the bad rows and the in-file duplicate, with their
	// original values.
	report := e.object(t, "imports/"+e.Tenant.String()+"/"+j.ID.String()+"/errors.csv")
	wantReport := "row,result,errors,E-mail Address,Given Name,Surname,Mobile Phone,Zip,Tags\n" +
		"3,error,E-mail Address: not a valid email address: it has no @,not-an-email,Bob,,,,\n" +
		"4,skipped,duplicate of row 2,ADA@example.com ,Ada,Again,,,\n" +
		"6,error,E-mail Address: email is required: it is the match key,,Nobody,,,,\n"
	if report != wantReport {
		t.Errorf("report =\n%s\nwant\n%s", report, wantReport)
	}

	// Every created contact has a "created" event with its full snapshot.
	if n := e.Count(t, `SELECT count(*) FROM import_events WHERE import_job_id = $1 AND event_type = 'created'
		AND previous_data IS NULL AND new_data->>'email' IS NOT NULL AND new_data ? 'updated_at'`, j.ID); n != 2 {
		t.Errorf("%d created events, want 2", n)
	}
}

func TestImportXLSXAndJSON(t *testing.T) {
	t.Parallel()
	t.Run("XLSX", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b, err := os.ReadFile("../readers/testdata/contacts.xlsx")
		if err != nil {
			t.Fatal(err)
		}
		job := e.NewJob(t, "people.xlsx", string(b), map[string]string{"Signed Up": "custom.signed_up", "Zip": "postal_code"},
			jobs.Options{Options: mapping.Options{CustomFieldTypes: map[string]string{"signed_up": "date"}}})
		j := e.Run(t, job)
		if got := countersOf(j); got != (counters{2, 2, 0, 0, 0, 2, 2}) {
			t.Fatalf("counters %+v", got)
		}
		ada := e.live(t)["ada@example.com"]
		if ada.Value(contacts.Phone) != "15551234567" || ada.Value(contacts.PostalCode) != "02134" ||
			string(ada.Custom["signed_up"]) != `"2024-03-04"` {
			t.Fatalf("ada = %+v custom %s", ada, ada.Custom["signed_up"])
		}
	})
	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		j := e.Import(t, "people.json", `[{"email":"a@x.io","name":"Ann Lee","company":{"name":"X"},"plan":"pro"}]`,
			jobs.Options{})
		if got := countersOf(j); got != (counters{1, 1, 0, 0, 0, 1, 1}) {
			t.Fatalf("counters %+v", got)
		}
		a := e.live(t)["a@x.io"]
		if a.Value(contacts.FirstName) != "Ann" || a.Value(contacts.LastName) != "Lee" {
			t.Fatalf("contact %+v", a)
		}
	})
}

func TestPrepareRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		content string
		mapping map[string]string
		want    string
	}{
		{"NoEmailColumn", "a.csv", "name,phone\nAda,123456\n", nil, "no column is mapped to email"},
		{"HeaderOnly", "a.csv", "email,name\n", nil, "the file has a header but no data rows"},
		{"Empty", "a.csv", "", nil, "the file is empty"},
		{"UnbalancedQuotes", "a.csv", "email,name\na@b.co,\"Ada\nb@c.co,Bob\n", nil, "line 2: a quoted value starting here is never closed"},
		{"WrongExtension", "a.xlsx", "email\na@b.co\n", nil, "declared as xlsx"},
		{"MappingUnknownColumn", "a.csv", "email\na@b.co\n", map[string]string{"Mail": "email"}, `field_mapping names column "Mail"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			job := e.NewJob(t, tt.file, tt.content, tt.mapping, jobs.Options{})
			_, err := importer.Prepare(context.Background(), e.Deps, e.Tenant, job)
			ie, ok := apperr.As(err)
			if !ok || apperr.TaskName(err) != apperr.TaskInput || !strings.Contains(ie.Message, tt.want) {
				t.Fatalf("prepare error = %v, want an input error containing %q", err, tt.want)
			}
			// The state machine's Catch records the reason; nothing was written.
			if err := importer.Fail(context.Background(), e.Deps, e.Tenant, job, ie.Message); err != nil {
				t.Fatal(err)
			}
			if n := e.Count(t, `SELECT count(*) FROM contacts`); n != 0 {
				t.Fatalf("%d contacts written", n)
			}
			if n := e.Count(t, `SELECT count(*) FROM import_jobs j JOIN import_job_details d ON d.import_job_id = j.id
				WHERE j.id = $1 AND j.status = 'failed' AND d.failure_reason = $2 AND j.errors->0->>'message' = $2`, job, ie.Message); n != 1 {
				t.Fatal("the failure reason was not recorded on the job")
			}
		})
	}
}

// Prepare run twice (a retried Lambda) gives the same manifest and does not
// read the file again once the job is prepared.
func TestPrepareIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Deps.ChunkRows = 2
	job := e.NewJob(t, "a.csv", "email\na@b.co\nb@b.co\nc@b.co\n", nil, jobs.Options{})
	ctx := context.Background()
	first, err := importer.Prepare(ctx, e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatal(err)
	}
	// The upload is gone: a second prepare must not need it.
	if err := e.Deps.Store.Delete(ctx, importer.UploadKey(e.Tenant, job, "a.csv")); err != nil {
		t.Fatal(err)
	}
	second, err := importer.Prepare(ctx, e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatal(err)
	}
	if first != second || first.ChunkCount != 2 || first.TotalRows != 3 {
		t.Fatalf("prepare results differ or are wrong: %+v vs %+v", first, second)
	}
}

// Finalize refuses to complete a job whose chunks are not all applied.
func TestFinalizeNeedsEveryChunk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Deps.ChunkRows = 1
	ctx := context.Background()
	job := e.NewJob(t, "a.csv", "email\na@b.co\nb@b.co\n", nil, jobs.Options{})
	res, err := importer.Prepare(ctx, e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatal(err)
	}
	cs := e.Chunks(t, res)
	if _, err := importer.ApplyChunk(ctx, e.Deps, cs[0]); err != nil {
		t.Fatal(err)
	}
	_, err = importer.Finalize(ctx, e.Deps, e.Tenant, job)
	if !apperr.Is(err, apperr.Transient) || !strings.Contains(err.Error(), "1 of 2 chunks applied") {
		t.Fatalf("finalize with a missing chunk: %v", err)
	}
	if _, err := importer.ApplyChunk(ctx, e.Deps, cs[1]); err != nil {
		t.Fatal(err)
	}
	j, err := importer.Finalize(ctx, e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatal(err)
	}
	again, err := importer.Finalize(ctx, e.Deps, e.Tenant, job)
	if err != nil || countersOf(again) != countersOf(j) || again.Status != jobs.StatusCompleted {
		t.Fatalf("second finalize: %v %+v", err, again)
	}
}
