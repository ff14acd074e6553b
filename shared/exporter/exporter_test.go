package exporter_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/filters"
	"github.com/portagehq/portage/shared/formula"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

type env struct {
	db     *pgxpool.Pool
	store  objstore.Dir
	tenant uuid.UUID
	other  uuid.UUID
}

// nasty values: quotes, commas, newlines, unicode, formulas, leading zeros.
var people = []struct{ email, first, company, phone, zip, plan string }{
	{"ada@example.com", "Ada", `Analytical "Engines", Ltd`, "+442079460958", "02134", "pro"},
	{"zoe@example.com", "Zoë", "Café\nSociété", "", "75001", "free"},
	{"eve@example.com", "=HYPERLINK(\"http://evil\")", "@SUM(1+1)", "-2+3", "", ""},
	{"bob@example.com", "Bob", "", "+1 (555) 123", "00501", "pro"},
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := pgtest.New(t)
	e := &env{db: db, store: objstore.Dir(t.TempDir()), tenant: pgtest.Tenant(t, db), other: pgtest.Tenant(t, db)}
	ctx := context.Background()
	for _, tn := range []uuid.UUID{e.tenant, e.other} {
		err := postgres.InTenantTx(ctx, e.db, tn, func(tx pgx.Tx) error {
			for i, p := range people {
				email := p.email
				if tn == e.other {
					email = "other-" + email
				}
				tags := []string{"all"}
				if i%2 == 0 {
					tags = append(tags, "vip")
				}
				custom := "{}"
				if p.plan != "" {
					custom = fmt.Sprintf(`{"plan": %q, "seats": %d}`, p.plan, i+1)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO contacts (id, tenant_id, email, first_name, company, phone, postal_code, tags, custom_fields)
					VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, ''), nullif($7, ''), $8, $9)`,
					uuid.New(), tn, email, p.first, p.company, p.phone, p.zip, tags, custom); err != nil {
					return err
				}
			}
			// A deleted contact is never exported.
			_, err := tx.Exec(ctx, `INSERT INTO contacts (id, tenant_id, email, deleted_at) VALUES ($1, $2, 'gone@example.com', now())`, uuid.New(), tn)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) export(t *testing.T, n jobs.NewExport) (jobs.ExportJob, jobs.ExportDetails, []byte) {
	t.Helper()
	ctx := context.Background()
	n.ID, n.TenantID = uuid.New(), e.tenant
	if n.ExportType == "" {
		n.ExportType = "full"
	}
	err := postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error { return jobs.CreateExport(ctx, tx, n) })
	if err != nil {
		t.Fatal(err)
	}
	d := exporter.Deps{DB: e.db, Store: e.store, Bucket: "exports", ProgressEvery: 2}
	runErr := exporter.Run(ctx, d, e.tenant, n.ID)
	var j jobs.ExportJob
	var det jobs.ExportDetails
	postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
		j, _ = jobs.GetExport(ctx, tx, n.ID)
		det, _ = jobs.GetExportDetails(ctx, tx, n.ID)
		return nil
	})
	if runErr != nil {
		return j, det, nil
	}
	b, err := os.ReadFile(filepath.Join(string(e.store), exporter.ObjectKey(e.tenant, n.ID, n.FileFormat)))
	if err != nil {
		t.Fatal(err)
	}
	return j, det, b
}

var fields = []string{"email", "first_name", "company", "phone", "postal_code", "tags", "custom.plan", "custom.seats"}

// want is what the file must hold: every live contact of the tenant once.
func want(neutral bool) [][]string {
	var out [][]string
	for i, p := range people {
		tags := "all"
		if i%2 == 0 {
			tags = "all, vip"
		}
		seats := ""
		if p.plan != "" {
			seats = fmt.Sprint(i + 1)
		}
		row := []string{p.email, p.first, p.company, p.phone, p.zip, tags, p.plan, seats}
		if neutral {
			for k, v := range row {
				row[k] = formula.Neutralize(v)
			}
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func sorted(rows [][]string) [][]string {
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	return rows
}

func TestFormatsRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("CSV", func(t *testing.T) {
		j, _, b := e.export(t, jobs.NewExport{FileFormat: "csv", SelectedFields: fields, FormulaSafe: false})
		if !bytes.HasPrefix(b, []byte("\uFEFF")) || !bytes.Contains(b, []byte("\r\n")) {
			t.Fatal("csv needs a BOM and CRLF line ends")
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(recs[0], fields) {
			t.Fatalf("header %q", recs[0])
		}
		if got := sorted(recs[1:]); !reflect.DeepEqual(got, want(false)) {
			t.Fatalf("rows\n%q\nwant\n%q", got, want(false))
		}
		if j.Status != jobs.StatusCompleted || *j.TotalContacts != 4 || j.ProcessedContacts != 4 || *j.FileSize != int64(len(b)) ||
			j.ExpiresAt == nil || j.ExpiresAt.Sub(*j.CompletedAt) != jobs.ExportLife {
			t.Fatalf("job %+v", j)
		}
	})
	// Spreadsheet-safe by default: formulas cannot run; plain signed numbers stay.
	t.Run("CSVFormulaSafe", func(t *testing.T) {
		_, _, b := e.export(t, jobs.NewExport{FileFormat: "csv", SelectedFields: fields, FormulaSafe: true})
		recs, _ := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		got := sorted(recs[1:])
		if !reflect.DeepEqual(got, want(true)) {
			t.Fatalf("rows\n%q\nwant\n%q", got, want(true))
		}
		for _, r := range got {
			for _, v := range r {
				if v != "" && strings.ContainsRune("=@\t\r", rune(v[0])) {
					t.Fatalf("a formula survived: %q", v)
				}
			}
		}
		if !bytes.Contains(b, []byte(`'=HYPERLINK`)) || !bytes.Contains(b, []byte("+442079460958")) || bytes.Contains(b, []byte("'+44")) {
			t.Fatal("neutralization is wrong")
		}
	})
	t.Run("JSON", func(t *testing.T) {
		_, _, b := e.export(t, jobs.NewExport{FileFormat: "json", SelectedFields: fields})
		var rows []map[string]any
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatal(err)
		}
		var got [][]string
		for _, r := range rows {
			tags := []string{}
			for _, x := range r["tags"].([]any) {
				tags = append(tags, x.(string))
			}
			str := func(k string) string {
				switch v := r[k].(type) {
				case nil:
					return ""
				case float64:
					return fmt.Sprint(v)
				}
				return r[k].(string)
			}
			got = append(got, []string{str("email"), str("first_name"), str("company"), str("phone"), str("postal_code"),
				strings.Join(tags, ", "), str("custom.plan"), str("custom.seats")})
		}
		if !reflect.DeepEqual(sorted(got), want(false)) {
			t.Fatalf("rows\n%q\nwant\n%q", sorted(got), want(false))
		}
	})
	t.Run("XLSX", func(t *testing.T) {
		_, _, b := e.export(t, jobs.NewExport{FileFormat: "xlsx", SelectedFields: append(fields, "created_at"), FormulaSafe: true})
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("Contacts")
		if err != nil {
			t.Fatal(err)
		}
		var got [][]string
		for _, r := range rows[1:] {
			r = append(r, make([]string, 9-len(r))...)
			got = append(got, r[:8])
		}
		// xlsx cells are typed: strings are strings (never formulas), so no neutralization.
		if !reflect.DeepEqual(sorted(got), want(false)) {
			t.Fatalf("rows\n%q\nwant\n%q", sorted(got), want(false))
		}
		formula, _ := f.GetCellFormula("Contacts", "B2")
		if formula != "" {
			t.Fatalf("a string became a formula: %q", formula)
		}
		// created_at is a number shown with the date format, not a string.
		typ, _ := f.GetCellType("Contacts", "I2")
		shown, _ := f.GetCellValue("Contacts", "I2")
		if typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString ||
			!regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`).MatchString(shown) {
			t.Fatalf("created_at is a %v cell showing %q, want a date", typ, shown)
		}
	})
}

func TestFiltersAndSegments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	emails := func(b []byte) []string {
		recs, _ := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		var out []string
		for _, r := range recs[1:] {
			out = append(out, r[0])
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"TagsAny", `{"tags":["vip"]}`, []string{"ada@example.com", "eve@example.com"}},
		{"TagsAll", `{"tags_all":["all","vip"]}`, []string{"ada@example.com", "eve@example.com"}},
		{"CustomEq", `{"where":[{"field":"custom.plan","op":"eq","value":"pro"}]}`, []string{"ada@example.com", "bob@example.com"}},
		{"Contains", `{"where":[{"field":"company","op":"contains","value":"engines"}]}`, []string{"ada@example.com"}},
		{"StartsWithIsLiteral", `{"where":[{"field":"company","op":"starts_with","value":"%"}]}`, nil},
		{"Empty", `{"where":[{"field":"company","op":"empty"}]}`, []string{"bob@example.com"}},
		{"NotEmptyAndNeq", `{"where":[{"field":"postal_code","op":"not_empty"},{"field":"first_name","op":"neq","value":"Ada"}]}`, []string{"bob@example.com", "zoe@example.com"}},
		{"InjectionInValue", `{"where":[{"field":"email","op":"eq","value":"x' OR '1'='1"}]}`, nil},
		{"CreatedAfterFuture", `{"created_after":"2999-01-01T00:00:00Z"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _, b := e.export(t, jobs.NewExport{ExportType: "filtered", Filters: json.RawMessage(tt.filter), FileFormat: "csv"})
			if j.Status != jobs.StatusCompleted {
				t.Fatalf("status %s", j.Status)
			}
			if got := emails(b); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("exported %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("Segment", func(t *testing.T) {
		var seg filters.Segment
		err := postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
			var err error
			seg, err = filters.CreateSegment(ctx, tx, e.tenant, nil, "VIPs", json.RawMessage(`{"tags":["vip"]}`))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_, _, b := e.export(t, jobs.NewExport{ExportType: "segment", SegmentID: &seg.ID, FileFormat: "csv"})
		if got := emails(b); !reflect.DeepEqual(got, []string{"ada@example.com", "eve@example.com"}) {
			t.Fatalf("segment export %v", got)
		}
	})
	// Only the tenant's own live contacts: the other tenant's never appear.
	t.Run("TenantIsolation", func(t *testing.T) {
		_, _, b := e.export(t, jobs.NewExport{FileFormat: "csv"})
		if bytes.Contains(b, []byte("other-")) || bytes.Contains(b, []byte("gone@")) {
			t.Fatal("another tenant's or a deleted contact was exported")
		}
		if got := emails(b); len(got) != 4 {
			t.Fatalf("%d contacts exported, want 4", len(got))
		}
	})
}

type failingStore struct{ objstore.Store }

func (failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	io.CopyN(io.Discard, r, 10)
	return errors.New("S3 is down")
}

// A failing export is marked failed with a reason, not left processing.
func TestFailingExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := uuid.New()
	postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
		return jobs.CreateExport(ctx, tx, jobs.NewExport{ID: id, TenantID: e.tenant, ExportType: "full", FileFormat: "csv"})
	})
	err := exporter.Run(ctx, exporter.Deps{DB: e.db, Store: failingStore{e.store}}, e.tenant, id)
	if err == nil {
		t.Fatal("the export did not fail")
	}
	var j jobs.ExportJob
	var d jobs.ExportDetails
	postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
		j, _ = jobs.GetExport(ctx, tx, id)
		d, _ = jobs.GetExportDetails(ctx, tx, id)
		return nil
	})
	if j.Status != jobs.StatusFailed || d.FailureReason == nil || !strings.Contains(*d.FailureReason, "try again") {
		t.Fatalf("job %s reason %v", j.Status, d.FailureReason)
	}
	// Running the worker again (Lambda's retry) leaves the failed job alone.
	if err := exporter.Run(ctx, exporter.Deps{DB: e.db, Store: e.store}, e.tenant, id); err != nil {
		t.Fatal(err)
	}
}

// The sweeper, with its own role, expires past-due exports of every tenant
// and deletes their files, and sees nothing else.
func TestSweeper(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	old, _, _ := e.export(t, jobs.NewExport{FileFormat: "csv"})
	fresh, _, _ := e.export(t, jobs.NewExport{FileFormat: "json"})
	postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE export_jobs SET expires_at = now() AT TIME ZONE 'UTC' - interval '1 hour' WHERE id = $1`, old.ID)
		return err
	})
	admin := e.db.Config().ConnConfig
	_, err := e.db.Exec(ctx, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portage_sweeper_test') THEN
		CREATE ROLE portage_sweeper_test LOGIN PASSWORD 'sweep'; END IF; END $$`)
	if err != nil && !strings.Contains(err.Error(), "23505") {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `GRANT portage_sweeper TO portage_sweeper_test`); err != nil {
		t.Fatal(err)
	}
	u := fmt.Sprintf("postgres://portage_sweeper_test:sweep@%s:%d/%s?sslmode=disable", admin.Host, admin.Port, url.PathEscape(admin.Database))
	sweeperDB, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer sweeperDB.Close()
	var visible int
	sweeperDB.QueryRow(ctx, `SELECT count(*) FROM export_jobs`).Scan(&visible)
	if visible != 1 {
		t.Fatalf("the sweeper sees %d exports, want only the expired one", visible)
	}
	n, err := exporter.Sweeper{DB: sweeperDB, Store: e.store}.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(string(e.store), exporter.ObjectKey(e.tenant, old.ID, "csv"))); !os.IsNotExist(err) {
		t.Fatal("the expired file is still there")
	}
	if _, err := os.Stat(filepath.Join(string(e.store), exporter.ObjectKey(e.tenant, fresh.ID, "json"))); err != nil {
		t.Fatal("a fresh export's file was deleted")
	}
	var status string
	postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT status FROM export_jobs WHERE id = $1`, old.ID).Scan(&status)
	})
	if status != jobs.StatusExpired {
		t.Fatalf("status %s", status)
	}
}

// A full csv or json export of table columns comes out of COPY; it must be
// the same bytes as the row-by-row path writes, neutralization included.
func TestCopyPathMatchesRowPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A value with the characters JSON and HTML escape, and one empty tags.
	ctx := context.Background()
	if err := postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contacts (id, tenant_id, email, first_name, company, tags)
			VALUES ($1, $2, 'esc@example.com', E'tab\there "q" \\ back\r\n2', '<b>&amp;</b> ✓ / ' || chr(1) || chr(8) || chr(12) || chr(11), '{}')`, uuid.New(), e.tenant)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cols := []string{"email", "first_name", "company", "phone", "postal_code", "tags", "id", "created_at", "updated_at"}
	for _, c := range []struct {
		format string
		safe   bool
	}{{"csv", true}, {"csv", false}, {"json", true}} {
		_, _, viaCopy := e.export(t, jobs.NewExport{ExportType: "full", FileFormat: c.format, SelectedFields: cols, FormulaSafe: c.safe})
		_, _, viaRows := e.export(t, jobs.NewExport{ExportType: "filtered", Filters: json.RawMessage(`{}`), FileFormat: c.format, SelectedFields: cols, FormulaSafe: c.safe})
		if !bytes.Equal(viaCopy, viaRows) {
			t.Fatalf("%s formula_safe=%v: COPY path\n%s\nrow path\n%s", c.format, c.safe, viaCopy, viaRows)
		}
		if c.format == "json" && !json.Valid(viaCopy) {
			t.Fatalf("the COPY path's json is not valid:\n%s", viaCopy)
		}
	}
}

// Exports at once on a pool with fewer connections than exports: each
// holds one connection (its snapshot) and never waits for a second, so all
// finish. They used to hold their snapshot and wait for another connection
// for their progress, and a pool of two froze behind two exports.
func TestConcurrentExportsNeedOneConnectionEach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	small, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: e.db.Config().ConnString(), MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	const exports = 6
	errs := make(chan error, exports)
	for i := range exports {
		id := uuid.New()
		format := []string{"csv", "json", "xlsx"}[i%3]
		err := postgres.InTenantTx(ctx, e.db, e.tenant, func(tx pgx.Tx) error {
			// Selected fields keep every export off COPY: the row path
			// records its progress as it goes.
			return jobs.CreateExport(ctx, tx, jobs.NewExport{ID: id, TenantID: e.tenant, ExportType: "full", FileFormat: format,
				SelectedFields: fields})
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			errs <- exporter.Run(ctx, exporter.Deps{DB: small, Store: e.store, Bucket: "exports", ProgressEvery: 1}, e.tenant, id)
		}()
	}
	for range exports {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := countExports(t, e, jobs.StatusCompleted); n != exports {
		t.Fatalf("%d of %d exports completed", n, exports)
	}
}

func countExports(t *testing.T, e *env, status string) int {
	t.Helper()
	var n int
	err := postgres.InTenantTx(context.Background(), e.db, e.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM export_jobs WHERE status = $1`, status).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// An export whose function's deadline passes is marked failed, though the
// context it was given has ended.
func TestExportPastItsDeadlineIsMarkedFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := uuid.New()
	err := postgres.InTenantTx(context.Background(), e.db, e.tenant, func(tx pgx.Tx) error {
		return jobs.CreateExport(context.Background(), tx, jobs.NewExport{ID: id, TenantID: e.tenant, ExportType: "full", FileFormat: "csv"})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = exporter.Run(ctx, exporter.Deps{DB: e.db, Store: stallingStore{cancel}, Bucket: "exports"}, e.tenant, id)
	if err == nil {
		t.Fatal("the export did not fail")
	}
	if n := countExports(t, e, jobs.StatusFailed); n != 1 {
		t.Fatalf("the export past its deadline is not failed (%d failed)", n)
	}
}

// stallingStore ends the export's context while the file is being sent,
// as a Lambda deadline does.
type stallingStore struct{ cancel context.CancelFunc }

func (s stallingStore) Put(ctx context.Context, key string, r io.Reader) error {
	s.cancel()
	<-ctx.Done()
	io.Copy(io.Discard, r)
	return ctx.Err()
}
func (stallingStore) Get(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("no")
}
func (stallingStore) Delete(context.Context, string) error { return nil }

// An export holds at most an Excel sheet's 16,384 columns, whatever its
// format: refused when asked for, not once written past the sheet's edge.
func TestCheckFieldsLimit(t *testing.T) {
	t.Parallel()
	fields := make([]string, exporter.MaxFields+1)
	for i := range fields {
		fields[i] = fmt.Sprintf("custom.f%d", i)
	}
	if err := exporter.CheckFields(fields); err == nil || !strings.Contains(err.Error(), "at most 16384") {
		t.Fatalf("%d fields: %v", len(fields), err)
	}
	if err := exporter.CheckFields(fields[:exporter.MaxFields]); err != nil {
		t.Fatalf("%d fields: %v", exporter.MaxFields, err)
	}
}
