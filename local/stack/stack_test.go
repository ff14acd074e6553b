package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/local/sfn"
	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/lambdafn"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
	"github.com/portagehq/portage/shared/reconcile"
)

type env struct {
	st     *stack.Stack
	tenant uuid.UUID
	api    *client.Client
}

// newEnv starts a whole local stack on its own database.
func newEnv(t *testing.T, chunkRows int) *env {
	t.Helper()
	return newEnvWith(t, chunkRows, func(*stack.Config) {})
}

// newEnvWith is newEnv with the stack's configuration changed by tweak.
func newEnvWith(t *testing.T, chunkRows int, tweak func(*stack.Config)) *env {
	t.Helper()
	ctx := context.Background()
	cfg := stack.Config{Addr: "127.0.0.1:0", DatabaseURL: pgtest.URL(t), Root: "../..",
		ChunkRows: chunkRows, MaxConcurrency: 3, RetryWaitScale: 0.01, RollbackBatch: 2}
	tweak(&cfg)
	st, err := stack.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e := &env{st: st, tenant: uuid.New()}
	token, err := st.Token(e.tenant, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	e.api = &client.Client{BaseURL: st.APIURL, Token: token}
	return e
}

func (e *env) importFile(t *testing.T, path string, req client.ImportRequest) client.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := e.api.ImportFile(ctx, path, req)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.api.Wait(ctx, j.ID.String(), 50*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("waiting for %s: %v", j.ID, err)
	}
	return done
}

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	err := postgres.InTenantTx(context.Background(), e.st.DB, e.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), q, args...).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// loseUploadEvents drops every S3 event the trigger would get, as if they
// were lost: no execution starts for an upload.
func (e *env) loseUploadEvents() {
	e.st.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name == "import-trigger" {
			return func(context.Context, []byte) ([]byte, error) { return []byte("null"), nil }
		}
		return next
	}
}

// execution is the import execution of job id.
func (e *env) execution(t *testing.T, id string) *sfn.Execution {
	t.Helper()
	ex, err := e.st.Runner.Execution(sfn.ExecutionARN(e.st.MachineARN, id))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// owner is a connection as the tables' owner, scoped to the tenant
// (row-level security applies to the owner too), for changing what the
// application cannot, such as a job's age.
func (e *env) owner(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.st.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `SELECT set_config('portage.tenant_id', $1, false)`, e.tenant.String()); err != nil {
		t.Fatal(err)
	}
	return conn
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func counts(j client.Job) string {
	total := 0
	if j.TotalRows != nil {
		total = *j.TotalRows
	}
	return fmt.Sprintf("%s total=%d created=%d updated=%d skipped=%d errors=%d processed=%d",
		j.Status, total, j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount, j.ProcessedRows)
}

// csvFile has 7 rows: 5 valid, 1 bad email, 1 in-file duplicate.
const csvFile = "Email,First Name,Company\n" +
	"ada@example.com,Ada,Engines\nbob@example.com,Bob,\nbroken,Carl,\n" +
	"dee@example.com,Dee,\nADA@example.com,Ada2,\neve@example.com,Eve,\nfay@example.com,Fay,\n"

func TestImportThroughTheStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	t.Run("CSV", func(t *testing.T) {
		j := e.importFile(t, writeFile(t, "people.csv", csvFile), client.ImportRequest{})
		if got := counts(j); got != "completed total=7 created=5 updated=0 skipped=1 errors=1 processed=7" {
			t.Fatalf("job: %s", got)
		}
		if j.Percent != 100 || j.ErrorReport == "" || len(j.Errors) < 10 {
			t.Fatalf("view: percent %v report %q errors %s", j.Percent, j.ErrorReport, j.Errors)
		}
		var report strings.Builder
		if err := e.api.Errors(context.Background(), j.ID.String(), &report); err != nil {
			t.Fatal(err)
		}
		want := "row,result,errors,Email,First Name,Company\n4,error,Email: not a valid email address: it has no @,broken,Carl,\n6,skipped,duplicate of row 2,ADA@example.com,Ada2,\n"
		if report.String() != want {
			t.Fatalf("error report:\n%s\nwant\n%s", report.String(), want)
		}
	})
	t.Run("XLSX", func(t *testing.T) {
		// Both of its contacts came with the CSV: they are skipped matches.
		j := e.importFile(t, "../../shared/readers/testdata/contacts.xlsx", client.ImportRequest{})
		if got := counts(j); got != "completed total=2 created=0 updated=0 skipped=2 errors=0 processed=2" {
			t.Fatalf("job: %s", got)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		path := writeFile(t, "people.ndjson", `{"email":"ada@example.com","company":"Analytical"}`+"\n"+`{"email":"zed@example.com"}`+"\n")
		j := e.importFile(t, path, client.ImportRequest{ImportOptions: &jobs.Options{DuplicateStrategy: "update"}})
		if got := counts(j); got != "completed total=2 created=1 updated=1 skipped=0 errors=0 processed=2" {
			t.Fatalf("job: %s", got)
		}
	})
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 6 {
		t.Fatalf("%d live contacts, want 6", n)
	}

	// The list is newest first and pages with a cursor.
	var page struct {
		Imports []client.Job `json:"imports"`
		Next    string       `json:"next_cursor"`
	}
	get := func(q string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.st.APIURL+"/v1/imports"+q, nil)
		req.Header.Set("Authorization", "Bearer "+e.api.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page.Imports, page.Next = nil, ""
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
	}
	get("?limit=2")
	if len(page.Imports) != 2 || page.Imports[0].FileName != "people.ndjson" || page.Next == "" {
		t.Fatalf("first page: %d jobs, first %q, cursor %q", len(page.Imports), page.Imports[0].FileName, page.Next)
	}
	get("?limit=2&cursor=" + page.Next)
	if len(page.Imports) != 1 || page.Imports[0].FileName != "people.csv" || page.Next != "" {
		t.Fatalf("second page: %+v", page)
	}
	get("?status=failed")
	if len(page.Imports) != 0 {
		t.Fatalf("%d failed jobs listed", len(page.Imports))
	}
}

// S3 delivers events at least once: the same event again starts nothing new.
func TestDuplicateS3Event(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	j := e.importFile(t, writeFile(t, "a.csv", csvFile), client.ImportRequest{})
	key := importer.UploadKey(e.tenant, j.ID, "a.csv")
	ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: stack.UploadsBucket}, Object: events.S3Object{Key: key, URLDecodedKey: key}}}}}
	payload, _ := json.Marshal(ev)
	for i := 0; i < 2; i++ {
		if _, err := e.st.Functions.Invoke(context.Background(), "import-trigger", payload); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.st.Runner.Executions(e.st.MachineARN)); n != 1 {
		t.Fatalf("%d executions, want 1", n)
	}
	again, err := e.api.GetImport(context.Background(), j.ID.String())
	if err != nil || counts(again) != counts(j) {
		t.Fatalf("the job changed: %s vs %s (%v)", counts(again), counts(j), err)
	}
	// Keys outside uploads/<tenant>/<job>/ and unknown jobs are ignored.
	for _, k := range []string{"elsewhere/x.csv", importer.UploadKey(e.tenant, uuid.New(), "x.csv")} {
		ev.Records[0].S3.Object.URLDecodedKey = k
		payload, _ := json.Marshal(ev)
		if _, err := e.st.Functions.Invoke(context.Background(), "import-trigger", payload); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if n := len(e.st.Runner.Executions(e.st.MachineARN)); n != 1 {
		t.Fatalf("%d executions after foreign keys, want 1", n)
	}
}

// A chunk Lambda that dies after its transaction committed is retried; the
// retry finds the chunk applied and the counters come out exact.
func TestChunkCrashAfterCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	var mu sync.Mutex
	crashed := map[int]bool{}
	e.st.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name != "import-chunk" {
			return next
		}
		return func(ctx context.Context, p []byte) ([]byte, error) {
			out, err := next(ctx, p)
			var c importer.Chunk
			json.Unmarshal(p, &c)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && !crashed[c.Index] {
				crashed[c.Index] = true
				panic("the process died after the commit")
			}
			return out, err
		}
	}
	j := e.importFile(t, writeFile(t, "a.csv", csvFile), client.ImportRequest{})
	if got := counts(j); got != "completed total=7 created=5 updated=0 skipped=1 errors=1 processed=7" {
		t.Fatalf("job: %s", got)
	}
	if len(crashed) != 4 {
		t.Fatalf("%d chunks crashed, want all 4", len(crashed))
	}
	if n := e.count(t, `SELECT count(*) FROM import_events`); n != 5 {
		t.Fatalf("%d events, want 5", n)
	}
}

// A chunk that fails for good fails the execution and the job (with a
// reason); the operator redrives the execution and the job completes with
// exact counters.
func TestRedriveAfterChunkFailsForGood(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	var broken sync.Map
	broken.Store(1, true)
	e.st.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name != "import-chunk" {
			return next
		}
		return func(ctx context.Context, p []byte) ([]byte, error) {
			var c importer.Chunk
			json.Unmarshal(p, &c)
			if _, bad := broken.Load(c.Index); bad {
				return nil, apperr.Retryable(errors.New("database unreachable"))
			}
			return next(ctx, p)
		}
	}
	j := e.importFile(t, writeFile(t, "a.csv", csvFile), client.ImportRequest{})
	if j.Status != jobs.StatusFailed || j.FailureReason == nil || !strings.Contains(*j.FailureReason, "operator can retry") {
		t.Fatalf("job after the failure: %s, reason %v", counts(j), j.FailureReason)
	}
	broken.Delete(1)

	sfnClient := awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.st.SFNURL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	execs := e.st.Runner.Executions(e.st.MachineARN)
	if len(execs) != 1 {
		t.Fatalf("%d executions", len(execs))
	}
	ctx := context.Background()
	if _, err := sfnClient.RedriveExecution(ctx, &awssfn.RedriveExecutionInput{ExecutionArn: aws.String(execs[0].ARN)}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// The job was failed before the redrive (a final status, so client.Wait
	// would return at once): wait for the redriven run to complete it.
	for j.Status != jobs.StatusCompleted && wctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		var err error
		if j, err = e.api.GetImport(ctx, j.ID.String()); err != nil {
			t.Fatal(err)
		}
	}
	if got := counts(j); got != "completed total=7 created=5 updated=0 skipped=1 errors=1 processed=7" {
		t.Fatalf("job after redrive: %s", got)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 5 {
		t.Fatalf("%d contacts after redrive, want 5", n)
	}
}

// A damaged file fails in Prepare with a clear message and writes nothing.
func TestMalformedFileFailsInPrepare(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	j := e.importFile(t, writeFile(t, "bad.csv", "email,name\na@b.co,\"Ada\nb@c.co,Bob\n"), client.ImportRequest{})
	if j.Status != jobs.StatusFailed || j.FailureReason == nil || *j.FailureReason != "line 2: a quoted value starting here is never closed (unbalanced quotes)" {
		t.Fatalf("job %s, reason %v", counts(j), j.FailureReason)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("%d contacts written", n)
	}
}

func TestAuthAndTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	// The web app is served without a token, and so is the local stack's
	// dev token; the API is not.
	for path, want := range map[string]string{"/": `<script src="app.js">`, "/app.js": `api("/v1/imports"`, "/dev/token": `"token":"`} {
		resp, err := http.Get(e.st.APIURL + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), want) {
			t.Fatalf("%s: %d %.100s", path, resp.StatusCode, page)
		}
	}
	j := e.importFile(t, writeFile(t, "a.csv", "email\na@b.co\n"), client.ImportRequest{})
	ctx := context.Background()

	// Another tenant's job id is 404, as if it did not exist.
	token, _ := e.st.Token(uuid.New(), uuid.Nil)
	other := &client.Client{BaseURL: e.st.APIURL, Token: token}
	_, err := other.GetImport(ctx, j.ID.String())
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("another tenant's job: %v, want 404", err)
	}
	// No token, a forged one, an expired one: 401 before the API runs.
	for name, tok := range map[string]string{"None": "", "Forged": token[:len(token)-4] + "AAAA", "Garbage": "abc"} {
		c := &client.Client{BaseURL: e.st.APIURL, Token: tok}
		if _, err := c.GetImport(ctx, j.ID.String()); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			t.Errorf("%s token: %v, want 401", name, err)
		}
	}
	// Bad requests name what is wrong.
	_, err = e.api.CreateImport(ctx, client.ImportRequest{FileName: "x.pdf", FileSize: 10})
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "x.pdf") {
		t.Fatalf("a .pdf: %v", err)
	}
	_, err = e.api.CreateImport(ctx, client.ImportRequest{FileName: "x.csv", FileSize: 2 << 30})
	if !errors.As(err, &ae) || ae.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 GiB file: %v", err)
	}
}

// Import then roll back through the API: the rollback runs on its state
// machine in batches; a batch Lambda that dies after committing is retried;
// a contact edited after the import is reported, not touched.
func TestRollbackThroughTheStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	j := e.importFile(t, writeFile(t, "a.csv", csvFile), client.ImportRequest{})
	if j.Status != jobs.StatusCompleted {
		t.Fatalf("import: %s", counts(j))
	}
	err := postgres.InTenantTx(ctx, e.st.DB, e.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE contacts SET first_name = 'Edited' WHERE email = 'bob@example.com'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var crashes sync.Map
	e.st.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name != "rollback" {
			return next
		}
		return func(ctx context.Context, p []byte) ([]byte, error) {
			out, err := next(ctx, p)
			if _, done := crashes.LoadOrStore("once", true); !done && err == nil {
				panic("the process died after the batch committed")
			}
			return out, err
		}
	}
	started, err := e.api.Rollback(ctx, j.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if started.Status != jobs.StatusRollingBack || started.Rollback == nil || started.Rollback.Events != 5 {
		t.Fatalf("202 answer: %s %+v", started.Status, started.Rollback)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done, err := e.api.Wait(wctx, j.ID.String(), 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := done.Rollback
	if done.Status != jobs.StatusRolledBack || done.RolledBackAt == nil || r.Done != 5 || r.Conflicts != 1 ||
		len(r.ConflictList) != 1 || r.ConflictList[0].Email != "bob@example.com" {
		t.Fatalf("after rollback: %s %+v", done.Status, r)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 1 {
		t.Fatalf("%d live contacts, want only the edited one", n)
	}
	// A second rollback, or one of a job that is not finished, is refused.
	_, err = e.api.Rollback(ctx, j.ID.String())
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "already rolled back") {
		t.Fatalf("second rollback: %v", err)
	}
	pending, err := e.api.CreateImport(ctx, client.ImportRequest{FileName: "p.csv", FileSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = e.api.Rollback(ctx, pending.ID.String()); !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "still pending") {
		t.Fatalf("rollback of a pending job: %v", err)
	}
}

// Export through the API: the worker runs asynchronously through the Lambda
// Invoke API, the file is downloaded with a presigned URL, and the export
// is gone (410) once it has expired.
func TestExportThroughTheStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	ctx := context.Background()
	e.importFile(t, writeFile(t, "a.csv", csvFile), client.ImportRequest{ImportOptions: &jobs.Options{Tags: []string{"vip"}}})

	ex, err := e.api.CreateExport(ctx, client.ExportRequest{FileFormat: "csv", SelectedFields: []string{"email", "first_name", "tags"}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ex, err = e.api.WaitExport(wctx, ex.ID.String(), 50*time.Millisecond, nil)
	if err != nil || ex.Status != jobs.StatusCompleted || ex.DownloadURL == "" {
		t.Fatalf("export %+v, %v", ex, err)
	}
	var file bytes.Buffer
	if err := e.api.Download(ctx, ex, &file); err != nil {
		t.Fatal(err)
	}
	// A header and the 5 contacts the import created, in the order asked.
	got := file.String()
	if !strings.HasPrefix(got, "\uFEFFemail,first_name,tags\r\n") || strings.Count(got, "\r\n") != 6 {
		t.Fatalf("file:\n%s", got)
	}
	for _, line := range []string{"ada@example.com,Ada,vip", "bob@example.com,Bob,vip", "dee@example.com,Dee,vip",
		"eve@example.com,Eve,vip", "fay@example.com,Fay,vip"} {
		if !strings.Contains(got, line+"\r\n") {
			t.Fatalf("file lacks %q:\n%s", line, got)
		}
	}

	// Segments: stored filters, exported by id.
	seg := struct {
		ID string `json:"id"`
	}{}
	body := strings.NewReader(`{"name":"Engines","filters":{"where":[{"field":"company","op":"eq","value":"Engines"}]}}`)
	req, _ := http.NewRequest(http.MethodPost, e.st.APIURL+"/v1/segments", body)
	req.Header.Set("Authorization", "Bearer "+e.api.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create segment: %v %v", err, resp.Status)
	}
	json.NewDecoder(resp.Body).Decode(&seg)
	resp.Body.Close()
	sx, err := e.api.CreateExport(ctx, client.ExportRequest{FileFormat: "json", SegmentID: seg.ID, ExportType: "segment"})
	if err != nil {
		t.Fatal(err)
	}
	sx, _ = e.api.WaitExport(wctx, sx.ID.String(), 50*time.Millisecond, nil)
	if sx.Status != jobs.StatusCompleted || *sx.TotalContacts != 1 {
		t.Fatalf("segment export %+v", sx)
	}

	// The list is newest first and never shows the bucket's own address.
	req, _ = http.NewRequest(http.MethodGet, e.st.APIURL+"/v1/exports", nil)
	req.Header.Set("Authorization", "Bearer "+e.api.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Exports []map[string]any `json:"exports"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Exports) != 2 || list.Exports[0]["id"] != sx.ID.String() || list.Exports[1]["id"] != ex.ID.String() ||
		list.Exports[0]["file_url"] != nil {
		t.Fatalf("export list %v", list.Exports)
	}
	if ex.FileURL != nil || ex.FormulaSafe == nil || !*ex.FormulaSafe {
		t.Fatalf("export view: file_url %v, formula_safe %v", ex.FileURL, ex.FormulaSafe)
	}

	// Bad requests name what is wrong.
	_, err = e.api.CreateExport(ctx, client.ExportRequest{FileFormat: "csv", ExportType: "filtered", Filters: json.RawMessage(`{"colour":"red"}`)})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, `"colour"`) {
		t.Fatalf("unknown filter key: %v", err)
	}
	_, err = e.api.CreateExport(ctx, client.ExportRequest{FileFormat: "csv", SelectedFields: []string{"email", "password"}})
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, `"password"`) {
		t.Fatalf("unknown field: %v", err)
	}
	// Another tenant cannot see the export.
	token, _ := e.st.Token(uuid.New(), uuid.Nil)
	if _, err := (&client.Client{BaseURL: e.st.APIURL, Token: token}).GetExport(ctx, ex.ID.String()); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("another tenant's export: %v", err)
	}

	// Past expires_at the export is gone, whatever its status says.
	err = postgres.InTenantTx(ctx, e.st.DB, e.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE export_jobs SET expires_at = now() AT TIME ZONE 'UTC' - interval '1 second' WHERE id = $1`, ex.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.GetExport(ctx, ex.ID.String()); !errors.As(err, &ae) || ae.Status != http.StatusGone {
		t.Fatalf("expired export: %v, want 410", err)
	}
	if _, err := e.st.Functions.Invoke(ctx, "export-sweeper", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM export_jobs WHERE status = 'expired'`); n != 1 {
		t.Fatalf("%d expired exports after the sweep", n)
	}
}

// Deployed on a named stage, API Gateway puts the stage in rawPath
// ("/prod/v1/imports"); every route must still be found.
func TestNamedStage(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, 2, func(c *stack.Config) { c.Stage = "prod" })
	j := e.importFile(t, writeFile(t, "a.csv", "email\na@b.co\nc@d.co\n"), client.ImportRequest{})
	if j.Status != "completed" || j.CreatedCount != 2 {
		t.Fatalf("import on stage prod: %s", counts(j))
	}
	if err := e.api.Errors(context.Background(), j.ID.String(), io.Discard); err != nil {
		t.Fatalf("error report on stage prod: %v", err)
	}
}

// A vCard goes through the API like any file: the upload URL signs its
// content type, and the cards become contacts.
func TestVCardThroughTheStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	vcf := "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada;;;\r\nEMAIL;type=pref:ada@example.com\r\nEND:VCARD\r\n" +
		"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Noyce\r\nEMAIL:bob@example.com\r\nTEL:+1 408 555 0100\r\nEND:VCARD\r\n"
	j := e.importFile(t, writeFile(t, "contacts.vcf", vcf), client.ImportRequest{})
	if j.Status != "completed" || j.CreatedCount != 2 {
		t.Fatalf("vcf import: %s", counts(j))
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE email = 'bob@example.com' AND first_name = 'Bob' AND phone = '+14085550100'`); n != 1 {
		t.Fatalf("bob: %d rows", n)
	}
}

// Requests that must be refused with a 4xx naming what is wrong, before
// anything is stored.
func TestBadRequestsStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	token, err := e.st.Token(e.tenant, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.st.APIURL+"/v1/imports", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error.Message
	}
	tags := make([]string, 101)
	for i := range tags {
		tags[i] = fmt.Sprintf(`"t%d"`, i)
	}
	tests := []struct {
		name, body string
		status     int
		message    string
	}{
		{"NULInFileName", `{"file_name":"a\u0000.csv","file_size":10}`, 400, `file_name contains a NUL character`},
		{"NULInMappingColumn", `{"file_name":"a.csv","file_size":10,"field_mapping":{"E\u0000mail":"email"}}`, 400, `a key of field_mapping contains a NUL`},
		{"NULInMappingTarget", `{"file_name":"a.csv","file_size":10,"field_mapping":{"Email":"em\u0000ail"}}`, 400, `field_mapping["Email"] contains a NUL`},
		{"NULInTags", `{"file_name":"a.csv","file_size":10,"import_options":{"tags":["ok","b\u0000d"]}}`, 400, `import_options.tags[1] contains a NUL`},
		{"TrailingData", `{"file_name":"a.csv","file_size":10} {"x":1}`, 400, "unexpected data after the JSON object"},
		{"BodyOver1MiB", `{"file_name":"` + strings.Repeat("a", 2<<20) + `.csv","file_size":10}`, 413, "larger than"},
		{"DotDot", `{"file_name":"..","file_size":10}`, 400, `file_name ".." is not a file name`},
		{"DotInFolder", `{"file_name":"x/.","file_size":10}`, 400, `is not a file name`},
		{"UnknownTarget", `{"file_name":"a.csv","file_size":10,"field_mapping":{"Plan":"plan"}}`, 400, `field_mapping["Plan"]: unknown field "plan"`},
		{"TwoColumnsOneField", `{"file_name":"a.csv","file_size":10,"field_mapping":{"A":"email","B":"email"}}`, 400, `maps both "A" and "B" to email`},
		{"TooManyTags", `{"file_name":"a.csv","file_size":10,"import_options":{"tags":[` + strings.Join(tags, ",") + `]}}`, 400, "101 tags, more than the 100"},
		{"BadOption", `{"file_name":"a.csv","file_size":10,"import_options":{"header_row":-1}}`, 400, "header_row -1"},
	}
	for _, tt := range tests {
		status, body := post(tt.body)
		if status != tt.status || !strings.Contains(body, tt.message) {
			t.Errorf("%s: %d %.300s; want %d containing %q", tt.name, status, body, tt.status, tt.message)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM import_jobs`); n != 0 {
		t.Fatalf("%d import jobs stored by refused requests", n)
	}

	// A token whose user belongs to another tenant creates nothing.
	other, otherUser := uuid.New(), uuid.New()
	otherToken, err := e.st.Token(other, otherUser)
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{BaseURL: e.st.APIURL, Token: otherToken}
	if _, err := c.CreateImport(context.Background(), client.ImportRequest{FileName: "a.csv", FileSize: 10}); err != nil {
		t.Fatalf("the other tenant's own request: %v", err) // provisions its user
	}
	forged, _ := e.st.Token(e.tenant, otherUser) // this tenant, the other tenant's user
	c = &client.Client{BaseURL: e.st.APIURL, Token: forged}
	_, err = c.CreateImport(context.Background(), client.ImportRequest{FileName: "a.csv", FileSize: 10})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !strings.Contains(ae.Message, "not a user of its tenant") {
		t.Fatalf("another tenant's user: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM import_jobs`); n != 0 {
		t.Fatalf("%d import jobs stored for another tenant's user", n)
	}
}

// A process killed mid-import, whose execution is gone: nothing would ever
// finish the job. The reconciler fails it with the counters of the chunk it
// committed, and the rollback then undoes what that chunk wrote. An upload
// that never came and an export whose worker died are failed too.
func TestReconcilerFailsStrandedJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	e.loseUploadEvents()
	j, err := e.api.ImportFile(ctx, writeFile(t, "a.csv", "email\na@b.co\nc@d.co\ne@f.co\n"), client.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Prepare and the first chunk ran; then the process died.
	deps := importer.Deps{DB: e.st.DB, Store: objstore.S3{Client: e.st.S3.Client(), Bucket: stack.UploadsBucket}, ChunkRows: 2}
	res, err := importer.Prepare(ctx, deps, e.tenant, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := importer.ReadManifest(ctx, deps.Store, res.ManifestKey)
	if err != nil || len(chunks) != 2 {
		t.Fatalf("%d chunks, %v", len(chunks), err)
	}
	if _, err := importer.ApplyChunk(ctx, deps, chunks[0]); err != nil {
		t.Fatal(err)
	}
	never, err := e.api.CreateImport(ctx, client.ImportRequest{FileName: "never.csv", FileSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	young, err := e.api.CreateImport(ctx, client.ImportRequest{FileName: "young.csv", FileSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Age the first two and an export past their windows.
	admin := e.owner(t)
	for _, id := range []uuid.UUID{j.ID, never.ID} {
		tag, err := admin.Exec(ctx, `UPDATE import_jobs SET created_at = created_at - interval '2 days' WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() != 1 {
			t.Fatal(tag, err)
		}
	}
	exportID := uuid.New()
	if _, err := admin.Exec(ctx, `INSERT INTO export_jobs (id, tenant_id, export_type, file_format, status, created_at)
		VALUES ($1, $2, 'full', 'csv', 'processing', now() - interval '3 hours')`, exportID, e.tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `INSERT INTO export_job_details (export_job_id, tenant_id) VALUES ($1, $2)`, exportID, e.tenant); err != nil {
		t.Fatal(err)
	}

	r := reconcile.Reconciler{DB: e.st.SweeperDB, SFN: e.st.SFN, StateMachineARN: e.st.MachineARN}
	got, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Imports != 2 || got.Exports != 1 {
		t.Fatalf("failed %+v, want 2 imports and 1 export", got)
	}
	stranded, err := e.api.GetImport(ctx, j.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if stranded.Status != "failed" || stranded.ProcessedRows != 2 || stranded.CreatedCount != 2 ||
		!strings.Contains(deref(stranded.FailureReason), "execution is gone") {
		t.Fatalf("stranded job: %s %+v", counts(stranded), deref(stranded.FailureReason))
	}
	if n, _ := e.api.GetImport(ctx, never.ID.String()); n.Status != "failed" || !strings.Contains(deref(n.FailureReason), "no upload arrived") {
		t.Fatalf("job with no upload: %s %q", n.Status, deref(n.FailureReason))
	}
	if y, _ := e.api.GetImport(ctx, young.ID.String()); y.Status != "pending" {
		t.Fatalf("a young pending job was touched: %s", y.Status)
	}
	ex, err := e.api.GetExport(ctx, exportID.String())
	if err != nil || ex.Status != "failed" {
		t.Fatalf("stranded export: %+v %v", ex, err)
	}
	// What the dead import wrote can be undone.
	if _, err := e.api.Rollback(ctx, j.ID.String()); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done, err := e.api.Wait(wctx, j.ID.String(), 50*time.Millisecond, nil)
	if err != nil || done.Status != "rolled_back" {
		t.Fatalf("rollback: %s %v", done.Status, err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 0 {
		t.Fatalf("%d live contacts after the rollback", n)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// The upload URL is single-use: a second PUT cannot replace the source of
// a job that ran (a redrive would read the other file).
func TestUploadURLIsSingleUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	content := "email\na@b.co\n"
	j, err := e.api.CreateImport(ctx, client.ImportRequest{FileName: "a.csv", FileSize: int64(len(content))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.Upload(ctx, j, strings.NewReader(content), int64(len(content))); err != nil {
		t.Fatal(err)
	}
	other := "email\nz@z.co\n"
	err = e.api.Upload(ctx, j, strings.NewReader(other), int64(len(other)))
	if err == nil || !strings.Contains(err.Error(), "412") {
		t.Fatalf("second upload: %v, want 412", err)
	}
	done, err := e.api.Wait(ctx, j.ID.String(), 50*time.Millisecond, nil)
	if err != nil || done.CreatedCount != 1 {
		t.Fatalf("%s %v", counts(done), err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE email = 'a@b.co'`); n != 1 {
		t.Fatalf("the first file's contact: %d", n)
	}
}

// portage dev keeps its data: a stack stopped mid-import and started again
// on the same data has the upload, the chunk parts and the execution, failed
// where it stopped; a redrive finishes the job with exact counters.
func TestRestartKeepsDataAndAllowsRedrive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir, dbURL := t.TempDir(), pgtest.URL(t)
	cfg := stack.Config{Addr: "127.0.0.1:0", DatabaseURL: dbURL, Root: "../..", ChunkRows: 2, MaxConcurrency: 1,
		RetryWaitScale: 0.01, DataDir: dataDir}
	st1, err := stack.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tenant := uuid.New()
	token, _ := st1.Token(tenant, uuid.New())
	api1 := &client.Client{BaseURL: st1.APIURL, Token: token}
	// The second chunk never ends: the stack is stopped while it runs.
	var calls atomic.Int32
	st1.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name != "import-chunk" {
			return next
		}
		return func(ctx context.Context, p []byte) ([]byte, error) {
			if calls.Add(1) >= 2 {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return next(ctx, p)
		}
	}
	j, err := api1.ImportFile(ctx, writeFile(t, "a.csv", "email\na@b.co\nc@d.co\ne@f.co\n"), client.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st1.Close()

	st2, err := stack.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st2.Close)
	api2 := &client.Client{BaseURL: st2.APIURL, Token: token}
	arn := strings.Replace(st2.MachineARN, ":stateMachine:", ":execution:", 1) + ":" + j.ID.String()
	d, err := st2.SFN.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil || d.Status != "FAILED" {
		t.Fatalf("the cut-off execution after the restart: %v %v", d, err)
	}
	if _, err := st2.SFN.RedriveExecution(ctx, &awssfn.RedriveExecutionInput{ExecutionArn: &arn}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		jj, err := api2.GetImport(wctx, j.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		if jj.Status == "completed" {
			if jj.CreatedCount != 3 || jj.ProcessedRows != 3 {
				t.Fatalf("after the redrive: %s", counts(jj))
			}
			break
		}
		if wctx.Err() != nil {
			t.Fatalf("job %s never completed: %s", j.ID, counts(jj))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The Step Functions console's and the CLI's first calls work against the
// local runner: the state machines, an execution's Map Run and its counts.
func TestStepFunctionsConsoleCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	j := e.importFile(t, writeFile(t, "a.csv", "email\na@b.co\nc@d.co\ne@f.co\n"), client.ImportRequest{})
	if j.Status != "completed" {
		t.Fatalf("import: %s", counts(j))
	}
	sms, err := e.st.SFN.ListStateMachines(ctx, &awssfn.ListStateMachinesInput{})
	if err != nil || len(sms.StateMachines) != 2 {
		t.Fatalf("state machines %+v %v", sms, err)
	}
	sm, err := e.st.SFN.DescribeStateMachine(ctx, &awssfn.DescribeStateMachineInput{StateMachineArn: &e.st.MachineARN})
	if err != nil || !strings.Contains(aws.ToString(sm.Definition), `"ApplyChunks"`) {
		t.Fatalf("describe state machine: %v", err)
	}
	execs, err := e.st.SFN.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: &e.st.MachineARN})
	if err != nil || len(execs.Executions) != 1 || execs.Executions[0].StopDate == nil {
		t.Fatalf("executions %+v %v", execs, err)
	}
	runs, err := e.st.SFN.ListMapRuns(ctx, &awssfn.ListMapRunsInput{ExecutionArn: execs.Executions[0].ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("map runs %+v %v", runs, err)
	}
	run, err := e.st.SFN.DescribeMapRun(ctx, &awssfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil || run.Status != "SUCCEEDED" || run.ItemCounts.Total != 2 || run.ItemCounts.Succeeded != 2 {
		t.Fatalf("map run %+v %v", run, err)
	}
}

// The reconciler looks at every open import, a page at a time: 120
// uploads still within their window (older than the stranded job, so
// first in line) no longer hide a job whose execution is gone.
func TestReconcilerSeesPastAbandonedUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	if _, err := e.api.ListImports(ctx, 1); err != nil { // the API creates the token's tenant
		t.Fatal(err)
	}
	admin := e.owner(t)
	if _, err := admin.Exec(ctx, `INSERT INTO import_jobs (id, tenant_id, file_name, status, created_at)
		SELECT gen_random_uuid(), $1, 'abandoned.csv', 'pending', now() AT TIME ZONE 'UTC' - interval '2 hours'
		FROM generate_series(1, 120)`, e.tenant); err != nil {
		t.Fatal(err)
	}
	stranded := uuid.New()
	if _, err := admin.Exec(ctx, `INSERT INTO import_jobs (id, tenant_id, file_name, status, total_rows, created_at)
		VALUES ($1, $2, 'stranded.csv', 'processing', 1, now() AT TIME ZONE 'UTC' - interval '10 minutes')`, stranded, e.tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `INSERT INTO import_job_details (import_job_id, tenant_id, source_key) VALUES ($1, $2, 'k')`, stranded, e.tenant); err != nil {
		t.Fatal(err)
	}
	r := reconcile.Reconciler{DB: e.st.SweeperDB, SFN: e.st.SFN, StateMachineARN: e.st.MachineARN}
	got, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Imports != 1 {
		t.Fatalf("failed %d imports, want the stranded one", got.Imports)
	}
	if j, err := e.api.GetImport(ctx, stranded.String()); err != nil || j.Status != "failed" {
		t.Fatalf("stranded job behind 120 open uploads: %s, %v", j.Status, err)
	}
	if n := e.count(t, `SELECT count(*) FROM import_jobs WHERE status = 'pending'`); n != 120 {
		t.Fatalf("%d uploads still waiting, want 120", n)
	}
}

// A rollback whose execution failed (a crash, a deploy, a fault that
// outlived its retries) stays rolling_back with nothing to finish it: the
// reconciler resumes it once it has not moved for RollbackStall, and it
// completes.
func TestReconcilerResumesAStalledRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j := e.importFile(t, writeFile(t, "r.csv", "email\na@b.co\nc@d.co\ne@f.co\n"), client.ImportRequest{})
	// The rollback's worker dies until the test mends it (a flag, not a
	// second Wrap: the runner reads Wrap from its own goroutines).
	var broken atomic.Bool
	broken.Store(true)
	e.st.Functions.Wrap = func(name string, payload []byte, next func(context.Context, []byte) ([]byte, error)) func(context.Context, []byte) ([]byte, error) {
		if name != "rollback" {
			return next
		}
		return func(ctx context.Context, p []byte) ([]byte, error) {
			if broken.Load() {
				return nil, errors.New("the worker died")
			}
			return next(ctx, p)
		}
	}
	if _, err := e.api.Rollback(ctx, j.ID.String()); err != nil {
		t.Fatal(err)
	}
	ex, err := e.st.Runner.Execution(sfn.ExecutionARN(e.st.RollbackARN, "rollback-"+j.ID.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Wait(ctx); err != nil || ex.Describe().Status != sfn.Failed {
		t.Fatalf("rollback execution %s, %v", ex.Describe().Status, err)
	}
	broken.Store(false)
	if s, _ := e.api.GetImport(ctx, j.ID.String()); s.Status != "rolling_back" {
		t.Fatalf("after the failed execution: %s", s.Status)
	}
	r := reconcile.Reconciler{DB: e.st.SweeperDB, SFN: e.st.SFN, StateMachineARN: e.st.MachineARN,
		Rollbacks: lambdafn.RollbackStarter{SFN: e.st.SFN, StateMachineARN: e.st.RollbackARN}}
	// Not yet stalled: left alone.
	if got, err := r.Run(ctx); err != nil || got.Rollbacks != 0 {
		t.Fatalf("a rollback that moved just now: %+v, %v", got, err)
	}
	if _, err := e.owner(t).Exec(ctx, `UPDATE import_job_details SET updated_at = now() - interval '20 minutes' WHERE import_job_id = $1`, j.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Run(ctx); err != nil || got.Rollbacks != 1 {
		t.Fatalf("stalled rollback: %+v, %v", got, err)
	}
	done, err := e.api.Wait(ctx, j.ID.String(), 50*time.Millisecond, nil)
	if err != nil || done.Status != "rolled_back" {
		t.Fatalf("resumed rollback: %s, %v", done.Status, err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 0 {
		t.Fatalf("%d contacts left after the resumed rollback", n)
	}
}

// The fields a person may pick come from the API: the standard ones with
// their labels, and the tenant's custom fields as soon as an import wrote
// them (another tenant's are not listed).
func TestFieldsListTheTenantsCustomFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	e.importFile(t, writeFile(t, "c.csv", "email,Plan,Seats\na@b.co,pro,3\nc@d.co,free,\n"),
		client.ImportRequest{FieldMapping: map[string]string{"email": "email", "Plan": "custom.plan", "Seats": "custom.seats"}})
	fields, err := e.api.Fields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, f := range fields {
		byName[f.Name] = f.Label
	}
	if byName["first_name"] != "First name" || byName["custom.plan"] != "plan" || byName["custom.seats"] != "seats" || byName["created_at"] == "" {
		t.Fatalf("fields %v", byName)
	}
	other := &client.Client{BaseURL: e.st.APIURL}
	if other.Token, err = e.st.Token(uuid.New(), uuid.New()); err != nil {
		t.Fatal(err)
	}
	theirs, err := other.Fields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range theirs {
		if strings.HasPrefix(f.Name, "custom.") {
			t.Fatalf("another tenant sees custom field %s", f.Name)
		}
	}
}

// A dry run that finished is imported for real with one request: the same
// file (not uploaded again), mapping and options, in a new job; the dry run
// stays as it was. Anything but a finished dry run is refused.
func TestImportADryRunForReal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dry := e.importFile(t, writeFile(t, "d.csv", "email,Plan\na@b.co,pro\nc@d.co,free\nbad,x\n"), client.ImportRequest{
		FieldMapping: map[string]string{"email": "email", "Plan": "custom.plan"}, ImportOptions: &jobs.Options{DryRun: true, Tags: []string{"trial"}}})
	if dry.Status != jobs.StatusCompleted || dry.CreatedCount != 2 || e.count(t, `SELECT count(*) FROM contacts`) != 0 {
		t.Fatalf("dry run: %s", counts(dry))
	}
	real, err := e.api.ImportForReal(ctx, dry.ID.String())
	if err != nil || real.ID == dry.ID || real.DryRun {
		t.Fatalf("import for real: %+v, %v", real, err)
	}
	done, err := e.api.Wait(ctx, real.ID.String(), 50*time.Millisecond, nil)
	if err != nil || done.Status != jobs.StatusCompleted || done.CreatedCount != 2 || done.ErrorCount != 1 {
		t.Fatalf("the real import: %s, %v", counts(done), err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE custom_fields->>'plan' IS NOT NULL AND tags @> ARRAY['trial']`); n != 2 {
		t.Fatalf("%d contacts with the dry run's mapping and tags, want 2", n)
	}
	// Undo is offered for what was written, never for the dry run.
	if dry.Undoable || !done.Undoable {
		t.Fatalf("undoable: dry run %v, real import %v", dry.Undoable, done.Undoable)
	}
	var ae *client.APIError
	if _, err := e.api.ImportForReal(ctx, real.ID.String()); !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Fatalf("importing a real import for real: %v, want 409", err)
	}
}

// The job counts its row errors by kind over every row, across chunks, the
// most frequent first: "3 × the domain has no dot", not a list cut at 100.
func TestProblemsAreCountedByKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	j := e.importFile(t, writeFile(t, "p.csv", "email\na@nodot\nb@nodot\nok@example.com\nc@nodot\nbad\nok2@example.com\n"),
		client.ImportRequest{FieldMapping: map[string]string{"email": "email"}})
	if j.ErrorCount != 4 || len(j.Problems) != 2 {
		t.Fatalf("%s (%s), problems %+v", counts(j), deref(j.FailureReason), j.Problems)
	}
	if j.Problems[0].Rows != 3 || !strings.Contains(j.Problems[0].Message, "the domain has no dot") ||
		j.Problems[1].Rows != 1 || !strings.Contains(j.Problems[1].Message, "it has no @") {
		t.Fatalf("problems %+v", j.Problems)
	}
}
