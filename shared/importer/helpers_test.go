package importer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

type env struct {
	deps   importer.Deps
	tenant uuid.UUID
}

// newEnv gives a test its own database, object store directory and tenant.
func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{
		deps:   importer.Deps{DB: pgtest.New(t), Store: objstore.Dir(t.TempDir()), TempDir: t.TempDir()},
		tenant: uuid.New(),
	}
	e.tx(t, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO tenants (id, name) VALUES ($1, 'test')`, e.tenant)
		return err
	})
	return e
}

func (e *env) tx(t testing.TB, fn func(pgx.Tx) error) {
	t.Helper()
	if err := postgres.InTenantTx(context.Background(), e.deps.DB, e.tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// newJob uploads content and creates a pending job for it.
func (e *env) newJob(t testing.TB, name, content string, fieldMapping map[string]string, opts jobs.Options) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	key := fmt.Sprintf("uploads/%s/%s/%s", e.tenant, id, name)
	if err := e.deps.Store.Put(ctx, key, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	e.tx(t, func(tx pgx.Tx) error {
		return jobs.CreateImport(ctx, tx, jobs.NewImport{ID: id, TenantID: e.tenant, FileName: name,
			FileSize: int64(len(content)), FileURL: "s3://uploads/" + key, SourceKey: key,
			FieldMapping: fieldMapping, Options: opts})
	})
	return id
}

// chunks reads the manifest prepare wrote.
func (e *env) chunks(t testing.TB, res importer.PrepareResult) []importer.Chunk {
	t.Helper()
	cs, err := importer.ReadManifest(context.Background(), e.deps.Store, res.ManifestKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != res.ChunkCount {
		t.Fatalf("manifest has %d chunks, prepare said %d", len(cs), res.ChunkCount)
	}
	return cs
}

// run takes a job through prepare, every chunk and finalize.
func (e *env) run(t testing.TB, job uuid.UUID) jobs.ImportJob {
	t.Helper()
	ctx := context.Background()
	res, err := importer.Prepare(ctx, e.deps, e.tenant, job)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	for _, c := range e.chunks(t, res) {
		if _, err := importer.ApplyChunk(ctx, e.deps, c); err != nil {
			t.Fatalf("chunk %d: %v", c.Index, err)
		}
	}
	j, err := importer.Finalize(ctx, e.deps, e.tenant, job)
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	return j
}

func (e *env) importFile(t testing.TB, name, content string, opts jobs.Options) jobs.ImportJob {
	t.Helper()
	return e.run(t, e.newJob(t, name, content, nil, opts))
}

// live returns the tenant's live contacts by email.
func (e *env) live(t testing.TB) map[string]contacts.Row {
	t.Helper()
	out := map[string]contacts.Row{}
	e.tx(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT to_jsonb(c.*) FROM contacts c WHERE deleted_at IS NULL`)
		if err != nil {
			return err
		}
		snaps, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		for _, s := range snaps {
			var r contacts.Row
			if err := json.Unmarshal(s, &r); err != nil {
				return err
			}
			out[r.Value(contacts.Email)] = r
		}
		return nil
	})
	return out
}

// contentDigest hashes every live contact's content (not ids or
// timestamps), so two imports can be compared.
func (e *env) contentDigest(t testing.TB) string {
	t.Helper()
	live := e.live(t)
	lines := make([]string, 0, len(live))
	for _, r := range live {
		r.ID, r.TenantID, r.CreatedAt, r.UpdatedAt = uuid.Nil, uuid.Nil, "", ""
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	e.tx(t, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), query, args...).Scan(&n)
	})
	return n
}

func (e *env) object(t testing.TB, key string) string {
	t.Helper()
	rc, err := e.deps.Store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

type counters struct{ Total, Created, Updated, Skipped, Errors, Processed, Imported int }

func countersOf(j jobs.ImportJob) counters {
	total := 0
	if j.TotalRows != nil {
		total = *j.TotalRows
	}
	return counters{total, j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount, j.ProcessedRows, j.ImportedCount}
}
