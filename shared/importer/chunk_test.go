package importer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// A chunk applied twice (a retried Lambda, a redriven Map item) changes
// nothing the second time and returns the same result.
func TestApplyChunkTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.Deps.ChunkRows = 3
	job := e.NewJob(t, "f.csv", "email,first_name\na@x.io,A\nb@x.io,B\nbad,C\nd@x.io,D\n", nil, jobs.Options{})
	chunks := e.Prepare(t, job)
	c := chunks[0]
	first, err := importer.ApplyChunk(ctx, e.Deps, c)
	if err != nil {
		t.Fatal(err)
	}
	digest := e.contentDigest(t)
	events := e.Count(t, `SELECT count(*) FROM import_events`)
	second, err := importer.ApplyChunk(ctx, e.Deps, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || !second.Replayed {
		t.Fatalf("replayed flags: first %v, second %v", first.Replayed, second.Replayed)
	}
	second.Replayed = false
	if first != second || first.Created != 2 || first.Errors != 1 {
		t.Fatalf("results differ: %+v vs %+v", first, second)
	}
	if e.contentDigest(t) != digest || e.Count(t, `SELECT count(*) FROM import_events`) != events {
		t.Fatal("the second apply changed contacts or events")
	}
	if n := e.Count(t, `SELECT processed_rows FROM import_jobs WHERE id = $1`, job); n != 3 {
		t.Fatalf("processed_rows = %d after applying a 3-row chunk twice, want 3", n)
	}
}

// The same chunk applied by two workers at once is applied once.
func TestApplySameChunkConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.NewJob(t, "f.csv", manyRows(500, 0), nil, jobs.Options{})
	chunks := e.Prepare(t, job)
	c := chunks[0]
	var wg sync.WaitGroup
	results := make([]importer.ChunkResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = importer.ApplyChunk(ctx, e.Deps, c)
		}()
	}
	wg.Wait()
	applied := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !r.Replayed {
			applied++
		}
		if r.Created != 490 || r.Errors != 10 {
			t.Fatalf("worker %d: %+v", i, r)
		}
	}
	if applied != 1 {
		t.Fatalf("%d workers applied the chunk, want 1", applied)
	}
	if n := e.Count(t, `SELECT count(*) FROM contacts`); n != 490 {
		t.Fatalf("%d contacts, want 490", n)
	}
}

// Two imports with overlapping keys run chunk against chunk at the same
// time: no contact is duplicated, no row is lost, every row is counted once.
func TestConcurrentImportsSameKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.Deps.ChunkRows = 100
	// Both files hold keys 0..999 in different orders.
	fileA, fileB := shuffledRows(1000, 1), shuffledRows(1000, 2)
	jobA := e.NewJob(t, "a.csv", fileA, nil, jobs.Options{DuplicateStrategy: "update"})
	jobB := e.NewJob(t, "b.csv", fileB, nil, jobs.Options{DuplicateStrategy: "update"})
	var chunks []importer.Chunk
	for _, job := range []uuid.UUID{jobA, jobB} {
		res, err := importer.Prepare(ctx, e.Deps, e.Tenant, job)
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, e.Chunks(t, res)...)
	}
	rand.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
	var wg sync.WaitGroup
	errc := make(chan error, len(chunks))
	sem := make(chan struct{}, 6)
	for _, c := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := importer.ApplyChunk(ctx, e.Deps, c); err != nil {
				errc <- fmt.Errorf("chunk %d of %s: %w", c.Index, c.JobID, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	var total counters
	for _, job := range []uuid.UUID{jobA, jobB} {
		j, err := importer.Finalize(ctx, e.Deps, e.Tenant, job)
		if err != nil {
			t.Fatal(err)
		}
		c := countersOf(j)
		if c.Created+c.Updated+c.Skipped+c.Errors != 1000 {
			t.Fatalf("job counters %+v do not add up to 1000", c)
		}
		total.Created += c.Created
		total.Updated += c.Updated
		total.Skipped += c.Skipped
	}
	if total.Created != 1000 {
		t.Fatalf("%d contacts created across both jobs, want exactly 1000", total.Created)
	}
	if n := e.Count(t, `SELECT count(*) FROM contacts WHERE deleted_at IS NULL`); n != 1000 {
		t.Fatalf("%d live contacts, want 1000", n)
	}
}

// A job of 50,000 rows (with bad rows and in-file duplicates, some across
// chunk boundaries) ends with the same contacts and counters whether it is
// applied as one chunk or as many, in any order.
func TestChunkingDoesNotChangeTheOutcome(t *testing.T) {
	t.Parallel()
	const n = 50_000
	file := manyRows(n, 7)
	type outcome struct {
		c      counters
		digest string
		errors string
		report string
	}
	run := func(t *testing.T, chunkRows int, reverse bool) outcome {
		e := newEnv(t)
		// The same tenant id in every database makes digests comparable.
		ctx := context.Background()
		e.Deps.ChunkRows = chunkRows
		job := e.NewJob(t, "big.csv", file, nil, jobs.Options{DuplicateStrategy: "update", Tags: []string{"bulk"}})
		res, err := importer.Prepare(ctx, e.Deps, e.Tenant, job)
		if err != nil {
			t.Fatal(err)
		}
		cs := e.Chunks(t, res)
		if reverse {
			for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
				cs[i], cs[j] = cs[j], cs[i]
			}
		}
		for _, c := range cs {
			if _, err := importer.ApplyChunk(ctx, e.Deps, c); err != nil {
				t.Fatal(err)
			}
		}
		j, err := importer.Finalize(ctx, e.Deps, e.Tenant, job)
		if err != nil {
			t.Fatal(err)
		}
		report := e.object(t, res.ErrorReportKey)
		return outcome{countersOf(j), e.contentDigest(t), string(j.Errors), report}
	}
	one := run(t, n, false)
	many := run(t, 997, true)
	if one.c != many.c {
		t.Fatalf("counters: one chunk %+v, many %+v", one.c, many.c)
	}
	if one.c.Total != n || one.c.Errors == 0 || one.c.Skipped == 0 || one.c.Created == 0 {
		t.Fatalf("the file should hold creates, bad rows and duplicates: %+v", one.c)
	}
	if one.digest != many.digest {
		t.Fatal("the live contacts differ between one chunk and many")
	}
	if one.errors != many.errors || one.report != many.report {
		t.Fatal("the errors or the error report differ between one chunk and many")
	}
}

// manyRows makes a file of n rows where every 50th row is bad and every 20th
// repeats the key of a row 1,500 rows earlier (so duplicates cross chunks).
func manyRows(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	b.WriteString("email,first_name,last_name,company,phone\n")
	for i := 0; i < n; i++ {
		key := i
		switch {
		case i%50 == 49:
			fmt.Fprintf(&b, "broken-%d,Bad,Row,,\n", i)
			continue
		case i%20 == 19 && i > 1500:
			key = i - 1500
		}
		fmt.Fprintf(&b, "user%d@example.com,First%d,Last%d,Company %d,+1555%07d\n", key, r.IntN(1000), i, r.IntN(50), key)
	}
	return b.String()
}

func shuffledRows(n int, seed uint64) string {
	keys := rand.New(rand.NewPCG(seed, seed)).Perm(n)
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "user%d@example.com,Seed%d\n", k, seed)
	}
	return b.String()
}

// A chunk of a job that failed (its execution is being redriven) reopens
// the job and applies; one of a job that never got prepared writes nothing.
func TestApplyChunkOfFailedJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.NewJob(t, "f.csv", "email\na@x.io\n", nil, jobs.Options{})
	res, err := importer.Prepare(ctx, e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatal(err)
	}
	if err := importer.Fail(ctx, e.Deps, e.Tenant, job, "chunk 0 failed"); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.ApplyChunk(ctx, e.Deps, e.Chunks(t, res)[0]); err != nil {
		t.Fatalf("applying a chunk of a failed job on redrive: %v", err)
	}
	j, err := importer.Finalize(ctx, e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusCompleted || j.CreatedCount != 1 || string(j.Errors) != "[]" {
		t.Fatalf("redriven job = %s, created %d, errors %s", j.Status, j.CreatedCount, j.Errors)
	}
	if n := e.Count(t, `SELECT count(*) FROM import_job_details WHERE failure_reason IS NOT NULL`); n != 0 {
		t.Fatal("the failure reason of a redriven job that completed is still set")
	}

	// A chunk item for a job still pending (a forged manifest) is refused.
	other := e.NewJob(t, "g.csv", "email\nb@x.io\n", nil, jobs.Options{})
	c := e.Chunks(t, res)[0]
	c.JobID = other
	if _, err := importer.ApplyChunk(ctx, e.Deps, c); !errors.Is(err, jobs.ErrWrongState) {
		t.Fatalf("chunk of a pending job: %v, want ErrWrongState", err)
	}
}

// A job that fails after some chunks committed (a crash, a lost execution)
// shows what they wrote: its counters add up over the rows they processed,
// instead of 0 created beside thousands of contacts.
func TestFailCountsTheCommittedChunks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Deps.ChunkRows = 2
	ctx := context.Background()
	job := e.NewJob(t, "f.csv", "email\na@x.io\nb@x.io\nbad\nc@x.io\nd@x.io\n", nil, jobs.Options{})
	chunks := e.Prepare(t, job)
	if len(chunks) != 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for _, c := range chunks[:2] {
		if _, err := importer.ApplyChunk(ctx, e.Deps, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := importer.Fail(ctx, e.Deps, e.Tenant, job, "the worker died"); err != nil {
		t.Fatal(err)
	}
	var j jobs.ImportJob
	e.Tx(t, func(tx pgx.Tx) error {
		var err error
		j, err = jobs.GetImport(ctx, tx, job)
		return err
	})
	if j.Status != jobs.StatusFailed || j.CreatedCount != 3 || j.ErrorCount != 1 || j.ProcessedRows != 4 || j.ImportedCount != 3 ||
		j.CreatedCount+j.UpdatedCount+j.SkippedCount+j.ErrorCount != j.ProcessedRows {
		t.Fatalf("failed job: %s, created %d, errors %d, processed %d", j.Status, j.CreatedCount, j.ErrorCount, j.ProcessedRows)
	}
}

// Tenant isolation in the engine: a chunk manifest naming another tenant's
// job (a hostile or corrupted manifest) finds no job and writes nothing.
func TestChunkCannotCrossTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.NewJob(t, "f.csv", "email\na@x.io\n", nil, jobs.Options{})
	chunks := e.Prepare(t, job)
	other := pgtest.Tenant(t, e.Deps.DB)
	c := chunks[0]
	c.TenantID = other
	if _, err := importer.ApplyChunk(ctx, e.Deps, c); err == nil {
		t.Fatal("a chunk ran under another tenant")
	}
	var inOther int
	pgtest.InTx(t, e.Deps.DB, other, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&inOther)
	})
	if n := e.Count(t, `SELECT count(*) FROM contacts`) + inOther; n != 0 {
		t.Fatalf("%d contacts written across tenants", n)
	}
}
