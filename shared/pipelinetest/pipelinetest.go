// Package pipelinetest runs the import pipeline's steps in a test, the way
// the state machine runs them: create a job for an uploaded file, prepare
// it, read the manifest, apply every chunk, finalize. The importer's,
// rollback's and the API's tests share it, so a change to the steps is made
// once. Each Env has its own database (or a given one), object store and
// tenant.
package pipelinetest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// Env is one tenant's pipeline: its Deps may be changed (ChunkRows, Store)
// before the first job.
type Env struct {
	Deps   importer.Deps
	Tenant uuid.UUID
}

// New gives a test a fresh database, an object store directory and a
// tenant.
func New(t testing.TB) *Env {
	t.Helper()
	return On(t, pgtest.New(t))
}

// On is New on a database the test already has: tenants of one database.
func On(t testing.TB, db *pgxpool.Pool) *Env {
	t.Helper()
	return &Env{
		Deps:   importer.Deps{DB: db, Store: objstore.Dir(t.TempDir()), TempDir: t.TempDir()},
		Tenant: pgtest.Tenant(t, db),
	}
}

// Tx runs fn in a transaction of the tenant's.
func (e *Env) Tx(t testing.TB, fn func(pgx.Tx) error) {
	t.Helper()
	pgtest.InTx(t, e.Deps.DB, e.Tenant, fn)
}

// NewJob uploads content as name and creates a pending job for it.
func (e *Env) NewJob(t testing.TB, name, content string, fieldMapping map[string]string, opts jobs.Options) uuid.UUID {
	t.Helper()
	id, err := Upload(context.Background(), e.Deps, e.Tenant, name, strings.NewReader(content), fieldMapping, opts)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// NewReviewJob uploads content as name and creates a job that waits for
// review after Inspect.
func (e *Env) NewReviewJob(t testing.TB, name, content string) uuid.UUID {
	t.Helper()
	id, err := Upload(context.Background(), e.Deps, e.Tenant, name, strings.NewReader(content), nil, jobs.Options{},
		func(n *jobs.NewImport) { n.Review = true })
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Prepare prepares a job and returns the chunks of its manifest.
func (e *Env) Prepare(t testing.TB, job uuid.UUID) []importer.Chunk {
	t.Helper()
	cs, err := PrepareChunks(context.Background(), e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return cs
}

// Chunks reads the manifest of a job prepare has prepared.
func (e *Env) Chunks(t testing.TB, res importer.PrepareResult) []importer.Chunk {
	t.Helper()
	cs, err := readChunks(context.Background(), e.Deps.Store, res)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Run takes a job through prepare, every chunk in order and finalize.
func (e *Env) Run(t testing.TB, job uuid.UUID) jobs.ImportJob {
	t.Helper()
	ctx := context.Background()
	for _, c := range e.Prepare(t, job) {
		if _, err := importer.ApplyChunk(ctx, e.Deps, c); err != nil {
			t.Fatalf("chunk %d: %v", c.Index, err)
		}
	}
	return e.Finalize(t, job)
}

// Finalize finalizes a job whose chunks have run.
func (e *Env) Finalize(t testing.TB, job uuid.UUID) jobs.ImportJob {
	t.Helper()
	j, err := importer.Finalize(context.Background(), e.Deps, e.Tenant, job)
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	return j
}

// Import uploads content as name and runs the whole import.
func (e *Env) Import(t testing.TB, name, content string, opts jobs.Options) jobs.ImportJob {
	t.Helper()
	return e.Run(t, e.NewJob(t, name, content, nil, opts))
}

// Count runs a count query in the tenant's transaction.
func (e *Env) Count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	e.Tx(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), query, args...).Scan(&n)
	})
	return n
}

// Upload stores a file where the browser would upload it and creates a
// pending job for it, as POST /v1/imports does. It returns errors rather
// than failing a test, for the benchmark.
func Upload(ctx context.Context, d importer.Deps, tenant uuid.UUID, name string, r io.Reader, fieldMapping map[string]string, opts jobs.Options, with ...func(*jobs.NewImport)) (uuid.UUID, error) {
	if err := opts.Validate(); err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	key := importer.UploadKey(tenant, id, name)
	if err := d.Store.Put(ctx, key, r); err != nil {
		return uuid.Nil, err
	}
	n := jobs.NewImport{ID: id, TenantID: tenant, FileName: name, FileURL: "s3://uploads/" + key, SourceKey: key,
		FieldMapping: fieldMapping, Options: opts}
	for _, w := range with {
		w(&n)
	}
	err := postgres.InTenantTx(ctx, d.DB, tenant, func(tx pgx.Tx) error { return jobs.CreateImport(ctx, tx, n) })
	return id, err
}

// PrepareChunks prepares a job and reads back its manifest.
func PrepareChunks(ctx context.Context, d importer.Deps, tenant, job uuid.UUID) ([]importer.Chunk, error) {
	res, err := importer.Prepare(ctx, d, tenant, job)
	if err != nil {
		return nil, err
	}
	return readChunks(ctx, d.Store, res)
}

// readChunks reads the manifest prepare wrote, checking it holds the chunks
// prepare reported.
func readChunks(ctx context.Context, store objstore.Store, res importer.PrepareResult) ([]importer.Chunk, error) {
	cs, err := importer.ReadManifest(ctx, store, res.ManifestKey)
	if err != nil {
		return nil, err
	}
	if len(cs) != res.ChunkCount {
		return nil, fmt.Errorf("manifest has %d chunks, prepare said %d", len(cs), res.ChunkCount)
	}
	return cs, nil
}
