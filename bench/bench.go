package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/pipelinetest"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/rollback"
)

type bench struct {
	rows   int
	st     *stack.Stack
	admin  *pgxpool.Pool
	tenant uuid.UUID
	api    *client.Client
	dir    string
	// the update import's id, rolled back at the end
	updateJob string
	// the bulk baseline's first tenant, whose rows the update baseline
	// updates, and the same-work baseline's
	updateTenant, sameWorkTenant uuid.UUID
	// measurements taken beside their baselines, the median reported
	repeat int
}

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 1<<20) }

func newBench(ctx context.Context, root string, rows, repeat, concurrency, chunkRows int) (*bench, error) {
	st, err := stack.Start(ctx, stack.Config{Addr: "127.0.0.1:0", Root: root, MaxConcurrency: concurrency, ChunkRows: chunkRows,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		return nil, err
	}
	b := &bench{rows: rows, st: st, tenant: uuid.New(), repeat: max(repeat, 1)}
	if b.admin, err = postgres.NewPool(ctx, postgres.PoolConfig{URL: st.AdminURL, MaxConns: 4}); err != nil {
		return nil, err
	}
	token, err := st.Token(b.tenant, uuid.New())
	if err != nil {
		return nil, err
	}
	b.api = &client.Client{BaseURL: st.APIURL, Token: token}
	// The API creates a token's tenant on its first request; steps that
	// skip the API need it first.
	if _, err := b.admin.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'bench') ON CONFLICT DO NOTHING`, b.tenant); err != nil {
		return nil, err
	}
	if b.dir, err = os.MkdirTemp("", "portage-bench-"); err != nil {
		return nil, err
	}
	// The baselines' tables: the same definition as contacts, its indexes
	// and its foreign keys (LIKE copies no foreign keys, and every contact
	// row pays for checking its tenant), without row-level security.
	_, err = b.admin.Exec(ctx, `
		DROP TABLE IF EXISTS bench_events, bench_contacts, bench_naive, bench_staging;
		CREATE TABLE bench_contacts (LIKE contacts INCLUDING ALL,
			FOREIGN KEY (tenant_id) REFERENCES tenants (id), FOREIGN KEY (workspace_id) REFERENCES workspaces (id));
		CREATE TABLE bench_naive (LIKE contacts INCLUDING ALL,
			FOREIGN KEY (tenant_id) REFERENCES tenants (id), FOREIGN KEY (workspace_id) REFERENCES workspaces (id));
		CREATE TABLE bench_staging (email text, first_name text, last_name text, phone text, company text,
			job_title text, city text, country text, postal_code text, tags text);`+sameWorkTables)
	if err != nil {
		return nil, err
	}
	_, err = b.admin.Exec(ctx, alterVacuumedTables(noAutoVacuum))
	return b, err
}

// addBystander gives another tenant contacts in Portage's table before the
// warmed steps, as a live database has: the warmed figures are a
// deployment in use, and the first-import step (run before it) is a new
// one.
func (b *bench) addBystander(ctx context.Context) error {
	bystander, err := b.file("bystander.csv", bystanderContacts, 95_000_000, 9)
	if err != nil {
		return err
	}
	return b.bulkTenant(ctx, bystander, uuid.New())
}

// bystanderContacts is how many contacts another tenant holds in Portage's
// table before the warmed steps: 1 % of a 1M-row step.
const bystanderContacts = 10_000

// vacuumedTables are the tables the measured steps write. While the bench
// runs, autovacuum analyzes them but does not vacuum them: a worker vacuums
// a table once a fifth of it is dead rows, and Portage's contacts table,
// smaller than the baselines' shared one, crossed that line inside
// Portage's windows and not inside theirs. settle vacuums them between
// windows instead, untimed. Analyze
// stays: it is what replans a statement whose statistics a big import has
// made stale, in production as here (docs/decisions.md, fifth pass).
var vacuumedTables = []string{"bench_contacts", "bench_events", "bench_staging", "contacts", "import_events"}

const noAutoVacuum = "SET (autovacuum_vacuum_scale_factor = 100, autovacuum_vacuum_insert_scale_factor = 100)"

func alterVacuumedTables(action string) string {
	var sql strings.Builder
	for _, t := range vacuumedTables {
		fmt.Fprintf(&sql, "ALTER TABLE %s %s;\n", t, action)
	}
	return sql.String()
}

func (b *bench) close() {
	b.admin.Exec(context.Background(), alterVacuumedTables("RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor)"))
	b.admin.Exec(context.Background(), `DROP TABLE IF EXISTS bench_events, bench_contacts, bench_naive, bench_staging`)
	b.admin.Close()
	b.st.Close()
	os.RemoveAll(b.dir)
}

func (b *bench) file(name string, n, offset int, seed uint64) (string, error) {
	path := filepath.Join(b.dir, name)
	return path, genFile(path, n, offset, seed)
}

// copyStaging loads a file into the staging table with COPY.
func (b *bench) copyStaging(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	conn, err := b.admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `TRUNCATE bench_staging`); err != nil {
		return err
	}
	_, err = conn.Conn().PgConn().CopyFrom(ctx, f, `COPY bench_staging FROM STDIN WITH (FORMAT csv, HEADER true)`)
	return err
}

// bulkLoad is PostgreSQL's bulk path, the import baselines: the file into
// the staging table with COPY, then one INSERT … SELECT of its rows for
// tenant into table, followed by onConflict (empty for none).
func (b *bench) bulkLoad(ctx context.Context, path, table string, tenant uuid.UUID, onConflict string) error {
	if err := b.copyStaging(ctx, path); err != nil {
		return err
	}
	_, err := b.admin.Exec(ctx, `INSERT INTO `+table+` (id, tenant_id, email, first_name, last_name, phone, company, job_title,
			city, country, postal_code, tags, custom_fields, created_at, updated_at)
		SELECT gen_random_uuid(), $1::uuid, lower(btrim(email)), first_name, last_name, phone, company, job_title,
			city, country, postal_code, string_to_array(tags, ','), '{}'::jsonb, now(), now()
		FROM bench_staging `+onConflict, tenant)
	return err
}

func (b *bench) runImport(ctx context.Context, path string, opts *jobs.Options) (client.Job, time.Duration, error) {
	start := time.Now()
	j, err := b.api.ImportFile(ctx, path, client.ImportRequest{ImportOptions: opts})
	if err != nil {
		return j, 0, err
	}
	j, err = b.api.Wait(ctx, j.ID.String(), 100*time.Millisecond, nil)
	if err != nil {
		return j, 0, err
	}
	if j.Status != jobs.StatusCompleted {
		return j, 0, fmt.Errorf("import %s: %s", j.ID, j.Status)
	}
	return j, time.Since(start), nil
}

// settle vacuums and analyzes what a step just wrote, untimed (autovacuum
// does not vacuum these tables, see vacuumedTables), and checkpoints, so
// that every window has the whole of max_wal_size ahead of it. Without the
// checkpoint, the WAL of the windows before added up, and at 1M rows the
// checkpoint it forced fell in the last window of a step (Portage's) and
// not in its baseline's.
func (b *bench) settle(ctx context.Context) error {
	_, err := b.admin.Exec(ctx, "VACUUM ANALYZE "+strings.Join(vacuumedTables, ", "))
	if err == nil {
		_, err = b.admin.Exec(ctx, "CHECKPOINT")
	}
	return err
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func (b *bench) importNew(ctx context.Context, r *report) error {
	var ours, bulk, same runs
	var oursCPU, bulkCPU, sameCPU runs
	var naive float64
	naiveRows := min(b.rows, 5000)
	for i := range b.repeat {
		// New keys each time, for Portage and for the baselines alike.
		path, err := b.file(fmt.Sprintf("new-%d.csv", i), b.rows, i*b.rows, uint64(1+i))
		if err != nil {
			return err
		}
		bulkTenant, sameTenant := uuid.New(), uuid.New()
		if _, err := b.admin.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'bench bulk'), ($2, 'bench same work')`, bulkTenant, sameTenant); err != nil {
			return err
		}
		if i == 0 {
			// The update step's baselines update these rows.
			b.updateTenant, b.sameWorkTenant = bulkTenant, sameTenant
		}
		if err := b.settle(ctx); err != nil {
			return err
		}
		// Baseline: PostgreSQL's bulk path, contacts only.
		cpu, start := sampleCPU(), time.Now()
		if err := b.bulkLoad(ctx, path, "bench_contacts", bulkTenant, ""); err != nil {
			return err
		}
		bulk.add(rate(b.rows, time.Since(start)), "")
		bulkCPU.add(pgMicros(cpu, b.rows), "")
		if err := b.settle(ctx); err != nil {
			return err
		}
		// Baseline: the same work (contacts and their events) in bulk.
		cpu = sampleCPU()
		d, err := b.sameWorkNew(ctx, path, sameTenant, b.rows)
		if err != nil {
			return err
		}
		same.add(rate(b.rows, d), "")
		sameCPU.add(pgMicros(cpu, b.rows), "")
		if err := b.settle(ctx); err != nil {
			return err
		}
		if i == 0 {
			// Baseline: one upsert per round trip (a sample of the file).
			if naive, err = b.naive(ctx, path, naiveRows); err != nil {
				return err
			}
		}

		cpu = sampleCPU()
		j, d, err := b.runImport(ctx, path, nil)
		if err != nil {
			return err
		}
		oursCPU.add(pgMicros(cpu, b.rows), "")
		ours.add(rate(b.rows, d), cpu.since())
		if j.CreatedCount != b.rows {
			return fmt.Errorf("import created %d of %d", j.CreatedCount, b.rows)
		}
		if err := b.settle(ctx); err != nil {
			return err
		}
	}
	value, note := ours.median()
	r.add(Figure{Name: "import new contacts, end to end", Rows: b.rows, Value: value, Unit: "rows/s",
		Baseline: "same work in bulk (contacts + events)", BaseVal: same.value(), Target: 0.8, Note: b.runsNote(note)})
	r.add(Figure{Name: "import new contacts, end to end", Rows: b.rows, Value: value, Unit: "rows/s",
		Baseline: "COPY to staging + INSERT…SELECT", BaseVal: bulk.value(), Target: 0.5})
	r.add(Figure{Name: "import new contacts, end to end", Rows: b.rows, Value: value, Unit: "rows/s",
		Baseline: "one upsert per round trip", BaseVal: naive, Note: fmt.Sprintf("naive rate measured once, on %d rows", naiveRows)})
	r.add(Figure{Name: "PostgreSQL CPU per new contact", Rows: b.rows, Value: oursCPU.value(), Unit: "µs", LowerIsBetter: true,
		Baseline: "same work in bulk (contacts + events)", BaseVal: sameCPU.value(), Target: 0.8,
		Note: fmt.Sprintf("runs %s µs, baseline's %s; contacts-only bulk path: %.1f µs; ratio = baseline ÷ Portage, so ≥ 0.8 is at most 1.25× the baseline's CPU",
			oursCPU.spread(), sameCPU.spread(), bulkCPU.value())})
	return nil
}

// runs are the repetitions of one measurement, each with a note.
type runs struct {
	values []float64
	notes  []string
}

func (rs *runs) add(v float64, note string) {
	rs.values = append(rs.values, v)
	rs.notes = append(rs.notes, note)
}

// median returns the median run's value and note (the upper middle of an
// even count): one slow or fast run on a shared machine moves it little.
func (rs *runs) median() (float64, string) {
	order := make([]int, len(rs.values))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return rs.values[order[a]] < rs.values[order[b]] })
	m := order[len(order)/2]
	return rs.values[m], rs.notes[m]
}

// spread is the lowest and highest run, for a figure's note: how far one
// run could be trusted.
func (rs *runs) spread() string {
	lo, hi := slices.Min(rs.values), slices.Max(rs.values)
	return fmt.Sprintf("%.1f–%.1f", lo, hi)
}

func (rs *runs) value() float64 {
	v, _ := rs.median()
	return v
}

func (b *bench) runsNote(note string) string {
	if b.repeat == 1 {
		return note
	}
	return fmt.Sprintf("median of %d runs, each beside its baseline; %s", b.repeat, note)
}

func (b *bench) naive(ctx context.Context, path string, n int) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.Read()
	conn, err := b.admin.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	tenant := uuid.New()
	if _, err := conn.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'bench naive')`, tenant); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		rec, err := cr.Read()
		if err != nil {
			return 0, err
		}
		_, err = conn.Exec(ctx, `INSERT INTO bench_naive (id, tenant_id, email, first_name, last_name, phone, company, job_title,
			city, country, postal_code, tags) VALUES (gen_random_uuid(), $1, lower(btrim($2)), $3, $4, $5, $6, $7, $8, $9, $10, string_to_array($11, ','))
			ON CONFLICT (tenant_id, email_key) WHERE deleted_at IS NULL AND email IS NOT NULL
			DO UPDATE SET first_name = EXCLUDED.first_name, updated_at = now()`,
			tenant, rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6], rec[7], rec[8], rec[9])
		if err != nil {
			return 0, err
		}
	}
	return rate(n, time.Since(start)), nil
}

func (b *bench) importUpdate(ctx context.Context, r *report) error {
	if b.updateTenant == uuid.Nil {
		return fmt.Errorf("the update step updates what the import step created: run it too")
	}
	var ours, bulk, same runs
	var oursCPU, sameCPU runs
	for i := range b.repeat {
		// The keys of the first new-contact file, with other values each time.
		path, err := b.file(fmt.Sprintf("update-%d.csv", i), b.rows, 0, uint64(100+i))
		if err != nil {
			return err
		}
		start := time.Now()
		if err := b.bulkLoad(ctx, path, "bench_contacts", b.updateTenant, `
			ON CONFLICT (tenant_id, email_key) WHERE deleted_at IS NULL AND email IS NOT NULL DO UPDATE SET
			first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, phone = EXCLUDED.phone, company = EXCLUDED.company,
			job_title = EXCLUDED.job_title, city = EXCLUDED.city, country = EXCLUDED.country, postal_code = EXCLUDED.postal_code,
			tags = EXCLUDED.tags, updated_at = now()`); err != nil {
			return err
		}
		bulk.add(rate(b.rows, time.Since(start)), "")
		if err := b.settle(ctx); err != nil {
			return err
		}
		cpu := sampleCPU()
		d, err := b.sameWorkUpdate(ctx, path, b.sameWorkTenant)
		if err != nil {
			return err
		}
		same.add(rate(b.rows, d), "")
		sameCPU.add(pgMicros(cpu, b.rows), "")
		if err := b.settle(ctx); err != nil {
			return err
		}
		cpu = sampleCPU()
		j, d, err := b.runImport(ctx, path, &jobs.Options{DuplicateStrategy: jobs.Update})
		if err != nil {
			return err
		}
		if j.UpdatedCount+j.SkippedCount != b.rows {
			return fmt.Errorf("update import: updated %d skipped %d of %d", j.UpdatedCount, j.SkippedCount, b.rows)
		}
		oursCPU.add(pgMicros(cpu, b.rows), "")
		ours.add(rate(b.rows, d), fmt.Sprintf("%d updated, %d unchanged; %s", j.UpdatedCount, j.SkippedCount, cpu.since()))
		b.updateJob = j.ID.String()
		if err := b.settle(ctx); err != nil {
			return err
		}
	}
	value, note := ours.median()
	r.add(Figure{Name: "import matching contacts (update)", Rows: b.rows, Value: value, Unit: "rows/s",
		Baseline: "same work in bulk (update + events)", BaseVal: same.value(), Target: 0.8, Note: b.runsNote(note)})
	r.add(Figure{Name: "import matching contacts (update)", Rows: b.rows, Value: value, Unit: "rows/s",
		Baseline: "COPY + INSERT…ON CONFLICT DO UPDATE", BaseVal: bulk.value(), Target: 0.5})
	r.add(Figure{Name: "PostgreSQL CPU per updated contact", Rows: b.rows, Value: oursCPU.value(), Unit: "µs", LowerIsBetter: true,
		Baseline: "same work in bulk (update + events)", BaseVal: sameCPU.value(), Target: 0.8,
		Note: fmt.Sprintf("runs %s µs, baseline's %s; ratio = baseline ÷ Portage, so ≥ 0.8 is at most 1.25× the baseline's CPU",
			oursCPU.spread(), sameCPU.spread())})
	return nil
}

// chunkSizes runs prepare and the chunk step alone, sequentially, for
// several chunk sizes: where the time goes.
func (b *bench) chunkSizes(ctx context.Context, r *report) error {
	if err := b.settle(ctx); err != nil {
		return err
	}
	n := min(b.rows, 100_000)
	store := objstore.Dir(filepath.Join(b.dir, "store"))
	for i, size := range []int{1000, 5000, 20000} {
		path, err := b.file(fmt.Sprintf("chunks-%d.csv", size), n, 10_000_000*(i+1), uint64(size))
		if err != nil {
			return err
		}
		d := importer.Deps{DB: b.st.DB, Store: store, ChunkRows: size}
		job, err := b.newJob(ctx, store, path, jobs.Options{})
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := importer.Prepare(ctx, d, b.tenant, job)
		if err != nil {
			return err
		}
		prep := time.Since(start)
		chunks, err := importer.ReadManifest(ctx, store, res.ManifestKey)
		if err != nil {
			return err
		}
		start = time.Now()
		for _, c := range chunks {
			if _, err := importer.ApplyChunk(ctx, d, c); err != nil {
				return err
			}
		}
		apply := time.Since(start)
		r.add(Figure{Name: fmt.Sprintf("chunk step alone, %d rows a chunk", size), Rows: n, Value: rate(n, apply), Unit: "rows/s",
			Baseline: "prepare (read, validate, write parts)", BaseVal: rate(n, prep),
			Note: fmt.Sprintf("prepare %s, chunks %s, one worker", prep.Round(time.Millisecond), apply.Round(time.Millisecond))})
	}
	return nil
}

func (b *bench) newJob(ctx context.Context, store objstore.Store, path string, opts jobs.Options) (uuid.UUID, error) {
	f, err := os.Open(path)
	if err != nil {
		return uuid.Nil, err
	}
	defer f.Close()
	return pipelinetest.Upload(ctx, importer.Deps{DB: b.st.DB, Store: store}, b.tenant, filepath.Base(path), f, nil, opts)
}

func (b *bench) exports(ctx context.Context, r *report) error {
	if err := b.settle(ctx); err != nil {
		return err
	}
	var live int
	postgres.InTenantTx(ctx, b.st.DB, b.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`).Scan(&live)
	})
	if live == 0 {
		// Run alone (ONLY=export): the tenant gets the contacts in bulk.
		path, err := b.file("export-seed.csv", b.rows, 80_000_000, 8)
		if err != nil {
			return err
		}
		if err := b.bulkLoad(ctx, path, "contacts", b.tenant, ""); err != nil {
			return err
		}
		if err := b.settle(ctx); err != nil {
			return err
		}
		live = b.rows
	}
	formats := []string{"csv", "json", "xlsx"}
	targets := map[string]float64{"csv": 0.7, "json": 0.5, "xlsx": 0.3}
	var baseline runs
	ours := map[string]*runs{}
	for range b.repeat {
		copyRate, err := b.copyOut(ctx, b.tenant, live)
		if err != nil {
			return err
		}
		baseline.add(copyRate, "")
		for _, format := range formats {
			cpu := sampleCPU()
			d, err := b.export(ctx, b.st.DB, objstore.S3{Client: b.st.S3.Client(), Bucket: stack.ExportsBucket}, b.tenant, format)
			if err != nil {
				return err
			}
			if ours[format] == nil {
				ours[format] = &runs{}
			}
			ours[format].add(rate(live, d), cpu.since())
		}
	}
	for _, format := range formats {
		value, note := ours[format].median()
		f := Figure{Name: "export to " + format, Rows: live, Value: value, Unit: "rows/s",
			Baseline: "COPY (SELECT …) TO STDOUT CSV", BaseVal: baseline.value(), Target: targets[format], Note: b.runsNote(note)}
		r.add(f)
	}
	return nil
}

// copyOut is the export baseline: the same columns, straight out of COPY.
func (b *bench) copyOut(ctx context.Context, tenant uuid.UUID, n int) (float64, error) {
	conn, err := b.admin.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	start := time.Now()
	_, err = conn.Conn().PgConn().CopyTo(ctx, io.Discard, `COPY (SELECT email, first_name, last_name, phone, company,
		job_title, website, street, city, region, postal_code, country, array_to_string(tags, ', '), created_at, updated_at
		FROM contacts WHERE tenant_id = '`+tenant.String()+`' AND deleted_at IS NULL ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)`)
	return rate(n, time.Since(start)), err
}

func (b *bench) export(ctx context.Context, db *pgxpool.Pool, store objstore.Store, tenant uuid.UUID, format string) (time.Duration, error) {
	id := uuid.New()
	err := postgres.InTenantTx(ctx, db, tenant, func(tx pgx.Tx) error {
		return jobs.CreateExport(ctx, tx, jobs.NewExport{ID: id, TenantID: tenant, ExportType: "full", FileFormat: format, FormulaSafe: true})
	})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = exporter.Run(ctx, exporter.Deps{DB: db, Store: store, Bucket: "bench"}, tenant, id)
	return time.Since(start), err
}

func (b *bench) rollback(ctx context.Context, r *report) error {
	if b.updateJob == "" {
		return fmt.Errorf("rollback reverses the update step's import: run the import and update steps too")
	}
	id := uuid.MustParse(b.updateJob)
	err := postgres.InTenantTx(ctx, b.st.DB, b.tenant, func(tx pgx.Tx) error {
		_, err := rollback.Begin(ctx, tx, id)
		return err
	})
	if err != nil {
		return err
	}
	start := time.Now()
	var p rollback.Progress
	for !p.Finished {
		if p, err = rollback.Batch(ctx, b.st.DB, b.tenant, id, rollback.DefaultBatch); err != nil {
			return err
		}
	}
	r.add(Figure{Name: "rollback of an update import", Rows: p.Events, Value: rate(p.Events, time.Since(start)), Unit: "events/s",
		Note: fmt.Sprintf("%d conflicts, batches of %d", p.Conflicts, rollback.DefaultBatch)})
	return nil
}

// memory runs prepare, a chunk worker and exports in child processes and
// reads their peak resident set.
func (b *bench) memory(ctx context.Context, r *report, counts string) error {
	store := filepath.Join(b.dir, "rss")
	for _, s := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			continue
		}
		path, err := b.file(fmt.Sprintf("rss-%d.csv", n), n, 50_000_000+n, 5)
		if err != nil {
			return err
		}
		job, err := b.newJob(ctx, objstore.Dir(store), path, jobs.Options{})
		if err != nil {
			return err
		}
		rss, d, err := childRSS("prepare", b.st.AdminURL, store, b.tenant.String(), job.String(), "5000")
		if err != nil {
			return err
		}
		r.add(Figure{Name: "peak RSS of prepare", Rows: n, Value: mib(rss), Unit: "MiB", Note: d.Round(time.Millisecond).String()})
		info, _ := os.Stat(path)
		if info != nil {
			r.Figures[len(r.Figures)-1].Note += fmt.Sprintf(", file %.0f MiB", mib(info.Size()))
		}

		// A tenant with n contacts, loaded in bulk, for the export figures.
		tenant := uuid.New()
		if err := b.bulkTenant(ctx, path, tenant); err != nil {
			return err
		}
		for _, format := range []string{"csv", "json", "xlsx"} {
			if format == "xlsx" && n > 200_000 {
				continue // excelize builds the zip in memory: not flat, reported at the small size only
			}
			id := uuid.New()
			err := postgres.InTenantTx(ctx, b.admin, tenant, func(tx pgx.Tx) error {
				return jobs.CreateExport(ctx, tx, jobs.NewExport{ID: id, TenantID: tenant, ExportType: "full", FileFormat: format, FormulaSafe: true})
			})
			if err != nil {
				return err
			}
			rss, d, err := childRSS("export", b.st.AdminURL, store, tenant.String(), id.String())
			if err != nil {
				return err
			}
			r.add(Figure{Name: "peak RSS of export to " + format, Rows: n, Value: mib(rss), Unit: "MiB", Note: d.Round(time.Millisecond).String()})
		}
	}
	// One chunk worker at two chunk sizes: bounded by the chunk, not the file.
	for _, size := range []int{5000, 20000} {
		path, err := b.file(fmt.Sprintf("rss-chunk-%d.csv", size), size, 90_000_000+size, 6)
		if err != nil {
			return err
		}
		job, err := b.newJob(ctx, objstore.Dir(store), path, jobs.Options{})
		if err != nil {
			return err
		}
		chunks, err := pipelinetest.PrepareChunks(ctx, importer.Deps{DB: b.st.DB, Store: objstore.Dir(store), ChunkRows: size}, b.tenant, job)
		if err != nil {
			return err
		}
		c, _ := json.Marshal(chunks[0])
		rss, d, err := childRSS("chunk", b.st.AdminURL, store, string(c))
		if err != nil {
			return err
		}
		r.add(Figure{Name: fmt.Sprintf("peak RSS of one chunk worker, %d rows", size), Rows: size, Value: mib(rss), Unit: "MiB", Note: d.Round(time.Millisecond).String()})
	}
	return nil
}

// bulkTenant makes a tenant whose contacts are the file's, loaded in bulk.
func (b *bench) bulkTenant(ctx context.Context, path string, tenant uuid.UUID) error {
	if _, err := b.admin.Exec(ctx, `INSERT INTO tenants (id) VALUES ($1)`, tenant); err != nil {
		return err
	}
	return b.bulkLoad(ctx, path, "contacts", tenant, "")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// child runs one step in this process, for its peak RSS.
func child(args []string) error {
	ctx := context.Background()
	db, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: args[1], MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	store := objstore.Dir(args[2])
	switch args[0] {
	case "prepare":
		size, _ := strconv.Atoi(args[5])
		_, err := importer.Prepare(ctx, importer.Deps{DB: db, Store: store, ChunkRows: size, TempDir: os.TempDir()},
			uuid.MustParse(args[3]), uuid.MustParse(args[4]))
		return err
	case "export":
		return exporter.Run(ctx, exporter.Deps{DB: db, Store: store, Bucket: "bench"},
			uuid.MustParse(args[3]), uuid.MustParse(args[4]))
	case "chunk":
		var c importer.Chunk
		if err := json.Unmarshal([]byte(args[3]), &c); err != nil {
			return err
		}
		_, err := importer.ApplyChunk(ctx, importer.Deps{DB: db, Store: store}, c)
		return err
	}
	return fmt.Errorf("unknown child step %q", args[0])
}
