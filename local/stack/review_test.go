package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portagehq/portage/local/sfn"
	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/reconcile"
)

// The review flow through the whole stack: the execution runs Inspect and
// waits on its task token; the API shows the inspection, refuses a bad
// mapping, starts with the reviewed one (SendTaskSuccess), and the same
// execution goes on to import.
func TestReviewThroughTheStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := writeFile(t, "people.csv", "E-mail,Given Name,Shoe\nada@example.com,Ada,38\nbob@example.com,Bob,44\nbroken,Carl,40\n")
	j, err := e.api.ImportFile(ctx, path, client.ImportRequest{Review: true})
	if err != nil {
		t.Fatal(err)
	}
	id := j.ID.String()
	j, in, err := e.api.WaitReview(ctx, id, 50*time.Millisecond)
	if err != nil || j.Status != jobs.StatusAwaitingReview {
		t.Fatalf("waiting for review: %s, %v", j.Status, err)
	}
	if !j.Review || in.EstimatedRows != 3 || in.SuggestedMapping["E-mail"] != "email" || len(in.Rows) != 3 {
		t.Fatalf("inspection: %+v", in)
	}
	ex := e.execution(t, id)
	if d := ex.Describe(); d.Status != sfn.Running {
		t.Fatalf("the execution is %s while the import awaits review", d.Status)
	}

	_, err = e.api.Start(ctx, id, client.StartRequest{FieldMapping: map[string]string{"Shoe": "shoe_size"}})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("a mapping onto an unknown field: got %v, want 400", err)
	}
	j, err = e.api.Start(ctx, id, client.StartRequest{FieldMapping: map[string]string{"Shoe": "custom.shoe"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Start(ctx, id, client.StartRequest{}); !errors.As(err, &apiErr) || apiErr.Status != 409 {
		t.Fatalf("a second start: got %v, want 409", err)
	}
	done, err := e.api.Wait(ctx, id, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != jobs.StatusCompleted || done.CreatedCount != 2 || done.ErrorCount != 1 {
		t.Fatalf("after review: %s", counts(done))
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE custom_fields->>'shoe' IS NOT NULL`); n != 2 {
		t.Fatalf("%d contacts with the reviewed custom field, want 2", n)
	}
	if err := ex.Wait(ctx); err != nil || ex.Describe().Status != sfn.Succeeded {
		t.Fatalf("execution %s, %v", ex.Describe().Status, err)
	}
}

// Cancelled in review: the job fails "cancelled" at once, the waiting
// execution is failed through its token (ImportCancelled, caught and
// recorded), nothing is written and the upload is gone.
func TestCancelInReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := e.api.ImportFile(ctx, writeFile(t, "c.csv", csvFile), client.ImportRequest{Review: true})
	if err != nil {
		t.Fatal(err)
	}
	id := j.ID.String()
	if j, _, err = e.api.WaitReview(ctx, id, 50*time.Millisecond); err != nil || j.Status != jobs.StatusAwaitingReview {
		t.Fatalf("%s, %v", j.Status, err)
	}
	j, err = e.api.Cancel(ctx, id)
	if err != nil || j.Status != jobs.StatusCancelled {
		t.Fatalf("cancel: %s, %v", j.Status, err)
	}
	ex := e.execution(t, id)
	if err := ex.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if d := ex.Describe(); d.Status != sfn.Failed || d.Error != "ImportCancelled" {
		t.Fatalf("execution %s %s, want FAILED ImportCancelled", d.Status, d.Error)
	}
	j, err = e.api.GetImport(ctx, id)
	if err != nil || j.Status != jobs.StatusCancelled {
		t.Fatalf("after the execution ended: %s, %v", j.Status, err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("%d contacts written by a cancelled import", n)
	}
}

// When the review window closes, the state machine's NotReviewed state
// hands the job to import-fail (as its Catch does): the job fails "not
// reviewed" and its upload is deleted. The wait itself timing out into the
// Catch is the runner's (local/sfn TestCallbackTimeouts).
func TestReviewWindowCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := e.api.ImportFile(ctx, writeFile(t, "late.csv", csvFile), client.ImportRequest{Review: true})
	if err != nil {
		t.Fatal(err)
	}
	id := j.ID.String()
	if j, _, err = e.api.WaitReview(ctx, id, 50*time.Millisecond); err != nil || j.Status != jobs.StatusAwaitingReview {
		t.Fatalf("%s, %v", j.Status, err)
	}
	payload, _ := json.Marshal(map[string]any{"tenant_id": e.tenant, "job_id": j.ID,
		"error": map[string]string{"Error": apperr.TaskNotReviewed, "Cause": "the import waited for review longer than 7 days"}})
	if _, err := e.st.Functions.Invoke(ctx, "import-fail", payload); err != nil {
		t.Fatal(err)
	}
	j, err = e.api.GetImport(ctx, id)
	if err != nil || j.Status != jobs.StatusFailed || *j.FailureReason != importer.NotReviewedReason {
		t.Fatalf("after the window: %s %v, %v", j.Status, j.FailureReason, err)
	}
	if _, err := e.api.Start(ctx, id, client.StartRequest{}); err == nil {
		t.Fatal("a job whose review window closed started")
	}
	key := importer.UploadKey(e.tenant, j.ID, "late.csv")
	if _, err := (objstore.S3{Client: e.st.S3.Client(), Bucket: stack.UploadsBucket}).Get(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("the upload of an unreviewed import is kept: %v", err)
	}
}

// Cancelled while chunks run: the chunks applied stay, the others skip, the
// execution ends (succeeded: nothing failed), the job is cancelled at once
// with counters that add up, and its rows can be rolled back.
func TestCancelWhileChunksRun(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, 2, func(c *stack.Config) { c.MaxConcurrency = 1 })
	inFlight, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.st.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name != "import-chunk" {
			return next
		}
		// The first chunk commits, then holds its Lambda (and so the Map,
		// one chunk at a time) until the cancel has been asked.
		return func(ctx context.Context, p []byte) ([]byte, error) {
			out, err := next(ctx, p)
			first := false
			once.Do(func() { first = true })
			if first {
				close(inFlight)
				<-release
			}
			return out, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := e.api.ImportFile(ctx, writeFile(t, "c.csv", csvFile), client.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	<-inFlight
	c, err := e.api.Cancel(ctx, j.ID.String())
	if err != nil || c.Status != jobs.StatusCancelled || c.ProcessedRows != 2 {
		t.Fatalf("cancel while running: %s, %d rows saved, %v", c.Status, c.ProcessedRows, err)
	}
	close(release)
	ex := e.execution(t, j.ID.String())
	if err := ex.Wait(ctx); err != nil || ex.Describe().Status != sfn.Succeeded {
		t.Fatalf("execution %s, %v", ex.Describe().Status, err)
	}
	done, err := e.api.GetImport(ctx, j.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != jobs.StatusCancelled || done.ProcessedRows != 2 || done.ChunksApplied != 1 ||
		done.CreatedCount+done.UpdatedCount+done.SkippedCount+done.ErrorCount != done.ProcessedRows {
		t.Fatalf("cancelled job: %s, %d chunks applied", counts(done), done.ChunksApplied)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != done.CreatedCount {
		t.Fatalf("%d contacts, %d created", n, done.CreatedCount)
	}
	if _, err := e.api.Rollback(ctx, j.ID.String()); err != nil {
		t.Fatal(err)
	}
	if rb, err := e.api.Wait(ctx, j.ID.String(), 50*time.Millisecond, nil); err != nil || rb.Status != jobs.StatusRolledBack {
		t.Fatalf("rollback: %s, %v", rb.Status, err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 0 {
		t.Fatalf("%d contacts after the rollback", n)
	}
}

// An import waiting for review whose execution is gone (deleted by hand,
// say) would wait forever: the reconciler fails it.
func TestReconcilerFailsAReviewWithNoExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	// The upload's S3 event is lost, and the job is inspected by hand: a
	// job awaiting review that no execution waits for.
	e.loseUploadEvents()
	j, err := e.api.ImportFile(ctx, writeFile(t, "r.csv", csvFile), client.ImportRequest{Review: true})
	if err != nil {
		t.Fatal(err)
	}
	deps := importer.Deps{DB: e.st.DB, Store: objstore.S3{Client: e.st.S3.Client(), Bucket: stack.UploadsBucket}}
	if _, err := importer.Inspect(ctx, deps, e.tenant, j.ID, "a token nobody holds"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.owner(t).Exec(ctx, `UPDATE import_jobs SET created_at = created_at - interval '1 hour' WHERE id = $1`, j.ID); err != nil {
		t.Fatal(err)
	}
	r := reconcile.Reconciler{DB: e.st.SweeperDB, SFN: e.st.SFN, StateMachineARN: e.st.MachineARN}
	if got, err := r.Run(ctx); err != nil || got.Imports != 1 {
		t.Fatalf("reconciled %+v, %v", got, err)
	}
	j, err = e.api.GetImport(ctx, j.ID.String())
	if err != nil || j.Status != jobs.StatusFailed || !strings.Contains(*j.FailureReason, "waited for review") {
		t.Fatalf("%s %v, %v", j.Status, j.FailureReason, err)
	}
}

// Stop means stop, at the Map's full width: 40 chunks run at once, each
// with its rows written and its transaction open (held on a lock the test
// takes), when the cancel comes. The cancel answers at once with nothing
// saved, and no chunk commits after it: every one rolls back at its last
// step, so the contacts keep the values they had.
func TestCancelStopsEveryChunkInFlight(t *testing.T) {
	t.Parallel()
	const chunks, rowsPerChunk = 40, 5
	e := newEnvWith(t, rowsPerChunk, func(c *stack.Config) { c.MaxConcurrency = chunks })
	var before, after strings.Builder
	before.WriteString("email,company\n")
	after.WriteString("email,company\n")
	for i := range chunks * rowsPerChunk {
		fmt.Fprintf(&before, "p%d@example.com,Before\n", i)
		fmt.Fprintf(&after, "p%d@example.com,After\n", i)
	}
	e.importFile(t, writeFile(t, "before.csv", before.String()), client.ImportRequest{})

	// The test holds every contact, so each chunk of the update waits,
	// mid-transaction, for its rows.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	owner, watch := e.owner(t), e.owner(t)
	hold, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx) //nolint:errcheck // released below, or at the test's end
	if _, err := hold.Exec(ctx, `SELECT 1 FROM contacts WHERE tenant_id = $1 FOR UPDATE`, e.tenant); err != nil {
		t.Fatal(err)
	}
	j, err := e.api.ImportFile(ctx, writeFile(t, "after.csv", after.String()),
		client.ImportRequest{ImportOptions: &jobs.Options{DuplicateStrategy: jobs.Update}})
	if err != nil {
		t.Fatal(err)
	}
	for waiting := 0; waiting < chunks; {
		if ctx.Err() != nil {
			cur, err := e.api.GetImport(context.Background(), j.ID.String())
			t.Fatalf("only %d of %d chunks reached their rows; job %s %v", waiting, chunks, counts(cur), err)
		}
		time.Sleep(20 * time.Millisecond)
		// pg_locks, unlike pg_stat_activity, shows every session's waits
		// to a role that is not a superuser.
		if err := watch.QueryRow(ctx, `SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}

	c, err := e.api.Cancel(ctx, j.ID.String())
	if err != nil || c.Status != jobs.StatusCancelled || c.ProcessedRows != 0 || c.ChunksApplied != 0 {
		t.Fatalf("cancel with every chunk in flight: %s, %d rows and %d chunks saved, %v", c.Status, c.ProcessedRows, c.ChunksApplied, err)
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	ex := e.execution(t, j.ID.String())
	if err := ex.Wait(ctx); err != nil || ex.Describe().Status != sfn.Succeeded {
		t.Fatalf("execution %s, %v", ex.Describe().Status, err)
	}
	done, err := e.api.GetImport(ctx, j.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != jobs.StatusCancelled || done.ProcessedRows != 0 || done.UpdatedCount != 0 || done.ChunksApplied != 0 || done.ChunkCount != chunks {
		t.Fatalf("after the execution: %s, %d of %d chunks applied", counts(done), done.ChunksApplied, done.ChunkCount)
	}
	if n := e.count(t, `SELECT count(*) FROM import_chunks WHERE import_job_id = $1`, j.ID); n != 0 {
		t.Fatalf("%d chunks committed after the cancel", n)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE company <> 'Before'`); n != 0 {
		t.Fatalf("%d contacts changed by a cancelled import", n)
	}
	if n := e.count(t, `SELECT count(*) FROM import_events WHERE import_job_id = $1`, j.ID); n != 0 {
		t.Fatalf("%d events of a cancelled import", n)
	}
	list, err := e.api.ListImports(ctx, 10)
	if err != nil || len(list) != 2 || list[0].Status != jobs.StatusCancelled {
		t.Fatalf("history: %v", err)
	}
}
