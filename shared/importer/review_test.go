package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
)

// A Google Contacts-like export: the email column has an unusual name, and
// one column the person wants as a custom field.
const reviewFile = "Given Name,Family Name,E-mail 1 - Value,Notes\n" +
	"Ada,Lovelace,ada@example.com,first programmer\n" +
	"Alan,Turing,alan@example.com,\n" +
	"Grace,Hopper,grace@example.com,navy\n"

func (e *env) inspect(t *testing.T, job uuid.UUID, token string) importer.Inspection {
	t.Helper()
	in, err := importer.Inspect(context.Background(), e.Deps, e.Tenant, job, token)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return in
}

func (e *env) start(t *testing.T, job uuid.UUID, req importer.StartRequest) (string, error) {
	t.Helper()
	var token string
	err := postgres.InTenantTx(context.Background(), e.Deps.DB, e.Tenant, func(tx pgx.Tx) (err error) {
		token, err = importer.Start(context.Background(), tx, e.Tenant, job, req)
		return err
	})
	return token, err
}

func TestReviewThenStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	job := e.NewReviewJob(t, "google.csv", reviewFile)
	in := e.inspect(t, job, "token-1")
	if in.EstimatedRows != 3 || !in.RowsCounted || len(in.Rows) != 3 || in.FileType != "csv" {
		t.Fatalf("inspection: %d rows (counted %v), %d shown, type %s", in.EstimatedRows, in.RowsCounted, len(in.Rows), in.FileType)
	}
	if in.SuggestedMapping["E-mail 1 - Value"] != "email" || in.MappingSource != importer.FromSuggestion {
		t.Fatalf("suggested %v from %s", in.SuggestedMapping, in.MappingSource)
	}
	if got := e.status(t, job); got != jobs.StatusAwaitingReview {
		t.Fatalf("status %s after inspect", got)
	}

	// Mistakes are refused, each naming what to fix, and change nothing.
	for _, bad := range []struct {
		req  importer.StartRequest
		want string
	}{
		{importer.StartRequest{FieldMapping: map[string]string{"Nope": "email"}}, `column "Nope"`},
		{importer.StartRequest{FieldMapping: map[string]string{"Notes": "shoe_size"}}, `unknown field "shoe_size"`},
		{importer.StartRequest{FieldMapping: map[string]string{"E-mail 1 - Value": ""}}, "no column is mapped to email"},
		{importer.StartRequest{FieldMapping: map[string]string{"Given Name": "email"}}, "maps both"},
		{importer.StartRequest{ImportOptions: json.RawMessage(`{"duplicate_strategy": "smash"}`)}, "duplicate_strategy"},
	} {
		_, err := e.start(t, job, bad.req)
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("start %+v: got %v, want a 400 naming %s", bad.req, err, bad.want)
		}
	}
	if got := e.status(t, job); got != jobs.StatusAwaitingReview {
		t.Fatalf("a refused start moved the job to %s", got)
	}

	token, err := e.start(t, job, importer.StartRequest{FieldMapping: map[string]string{"Notes": "custom.notes"}})
	if err != nil || token != "token-1" {
		t.Fatalf("start: %q, %v", token, err)
	}
	// The execution did not take the token yet: a second start hands it
	// out again and changes nothing.
	if again, err := e.start(t, job, importer.StartRequest{FieldMapping: map[string]string{"Notes": ""}}); err != nil || again != token {
		t.Fatalf("second start: %q, %v", again, err)
	}
	e.Tx(t, func(tx pgx.Tx) error { return jobs.ClearTaskToken(context.Background(), tx, job, token) })
	if _, err := e.start(t, job, importer.StartRequest{}); !errors.Is(err, jobs.ErrWrongState) {
		t.Fatalf("start of a started job: got %v, want a conflict", err)
	}

	j := e.Run(t, job)
	if j.Status != jobs.StatusCompleted || j.CreatedCount != 3 {
		t.Fatalf("import: %s, %d created", j.Status, j.CreatedCount)
	}
	if n := e.Count(t, `SELECT count(*) FROM contacts WHERE custom_fields->>'notes' = 'navy'`); n != 1 {
		t.Fatalf("the reviewed mapping was not used: %d contacts with the note", n)
	}

	// The next file with these headers (in another order and case) gets
	// the confirmed mapping.
	next := e.NewReviewJob(t, "again.csv", "notes,e-mail 1 - value,given name,family name\nx,bob@example.com,Bob,B\n")
	in = e.inspect(t, next, "token-2")
	if in.MappingSource != importer.FromMemory || in.SuggestedMapping["notes"] != "custom.notes" || in.Suggestions["notes"].Reason != importer.FromMemory {
		t.Fatalf("remembered mapping not suggested: %v from %s", in.SuggestedMapping, in.MappingSource)
	}
}

// A column left out when the mapping was confirmed is suggested as left
// out the next time, from memory: not as a field called "ignore", which
// the page showed as a blank select.
func TestRememberedMappingLeavesOutWhatWasLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	job := e.NewReviewJob(t, "first.csv", "Email,Junk\na@b.co,x\n")
	e.inspect(t, job, "token-1")
	if _, err := e.start(t, job, importer.StartRequest{FieldMapping: map[string]string{"Junk": ""}}); err != nil {
		t.Fatal(err)
	}
	next := e.NewReviewJob(t, "second.csv", "Email,Junk\nc@d.co,y\n")
	in := e.inspect(t, next, "token-2")
	if in.MappingSource != importer.FromMemory || in.SuggestedMapping["Junk"] != "" || in.Suggestions["Junk"].Field != "" ||
		in.Suggestions["Junk"].Reason != importer.FromMemory || in.SuggestedMapping["Email"] != "email" {
		t.Fatalf("remembered: %v, suggestions %v", in.SuggestedMapping, in.Suggestions)
	}
}

func TestInspectShowsProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	job := e.NewReviewJob(t, "no-email.csv", "name,city\nAda,London\n")
	in := e.inspect(t, job, "t")
	if len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "email") {
		t.Fatalf("problems %v, want the unmapped email", in.Problems)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("AwaitingReview", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		job := e.NewReviewJob(t, "f.csv", reviewFile)
		e.inspect(t, job, "token-x")
		c, err := importer.Cancel(ctx, e.Deps.DB, e.Deps.Store, e.Tenant, job)
		if err != nil || c.Token != "token-x" {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		if c.Job.Status != jobs.StatusCancelled || c.Job.ProcessedRows != 0 || c.Job.CreatedCount != 0 {
			t.Fatalf("cancelled job: %s, %d processed", c.Job.Status, c.Job.ProcessedRows)
		}
		if _, err := e.Deps.Store.Get(ctx, importer.UploadKey(e.Tenant, job, "f.csv")); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("the upload of a cancelled import is kept: %v", err)
		}
		// The execution's end (failing the job) leaves it cancelled, and a
		// redrive cannot revive it.
		if err := importer.Fail(ctx, e.Deps, e.Tenant, job, "internal"); !errors.Is(err, jobs.ErrWrongState) {
			t.Fatalf("failing a cancelled job: %v, want a wrong-state conflict", err)
		}
		if s := e.status(t, job); s != jobs.StatusCancelled {
			t.Fatalf("status %s after the execution failed, want cancelled", s)
		}
		if _, err := importer.Prepare(ctx, e.Deps, e.Tenant, job); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("prepare of a cancelled job: %v", err)
		}
		// A second cancel (a double click, a retried request) answers the
		// same job and changes nothing.
		again, err := importer.Cancel(ctx, e.Deps.DB, e.Deps.Store, e.Tenant, job)
		if err != nil || again.Job.Status != jobs.StatusCancelled || again.Token != "" {
			t.Fatalf("second cancel: %+v, %v", again, err)
		}
	})
	t.Run("WhileChunksRun", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.Deps.ChunkRows = 2
		job := e.NewJob(t, "f.csv", "email\na@x.io\nb@x.io\nc@x.io\nbad\ne@x.io\n", nil, jobs.Options{})
		chunks := e.Prepare(t, job)
		if len(chunks) != 3 {
			t.Fatalf("%d chunks", len(chunks))
		}
		if _, err := importer.ApplyChunk(ctx, e.Deps, chunks[0]); err != nil {
			t.Fatal(err)
		}
		c, err := importer.Cancel(ctx, e.Deps.DB, e.Deps.Store, e.Tenant, job)
		if err != nil || c.Job.Status != jobs.StatusCancelled || c.Token != "" {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		// The counters are the first chunk's, at once: no chunk can commit
		// after the cancel.
		if c.Job.CreatedCount != 2 || c.Job.ProcessedRows != 2 {
			t.Fatalf("cancelled job counts %d created of %d processed, want 2 of 2", c.Job.CreatedCount, c.Job.ProcessedRows)
		}
		for _, ch := range chunks[1:] {
			res, err := importer.ApplyChunk(ctx, e.Deps, ch)
			if err != nil || !res.Cancelled {
				t.Fatalf("chunk %d after the cancel: %+v, %v", ch.Index, res, err)
			}
		}
		j := e.Finalize(t, job)
		got := countersOf(j)
		if j.Status != jobs.StatusCancelled || got.Created != 2 || got.Processed != 2 || got.Created+got.Updated+got.Skipped+got.Errors != got.Processed {
			t.Fatalf("cancelled job: %s %+v", j.Status, got)
		}
		if n := e.Count(t, `SELECT count(*) FROM contacts`); n != 2 {
			t.Fatalf("%d contacts, want the first chunk's 2", n)
		}
	})
}

func (e *env) status(t *testing.T, job uuid.UUID) string {
	t.Helper()
	var s string
	e.Tx(t, func(tx pgx.Tx) error {
		j, err := jobs.GetImport(context.Background(), tx, job)
		s = j.Status
		return err
	})
	return s
}

// A long cell is cut in the inspection: what review shows stays small
// whatever the file holds.
func TestInspectCutsLongValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("é", 5000)
	job := e.NewReviewJob(t, "long.csv", "email,notes\na@x.io,"+long+"\n")
	in := e.inspect(t, job, "t")
	if got := []rune(in.Rows[0][1]); len(got) != 200 || got[199] != '…' {
		t.Fatalf("a 5000-character value is shown as %d characters", len(got))
	}
}
