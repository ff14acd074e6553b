package contacts

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/postgres/pgtest"
)

var update = flag.Bool("update", false, "rewrite testdata/sql/*.sql from the statements the code builds")

// statements are the statements the package builds from its field list at
// start-up. Their golden files under testdata/sql show them as PostgreSQL
// receives them, so a change to a field or a fragment shows in review as a
// change of the final SQL.
var statements = map[string]string{
	"find_live":        findLiveSQL,
	"find_live_locked": findLiveLockedSQL,
	"insert":           insertSQL,
	"insert_contended": insertContendedSQL,
	"update":           updateSQL,
	"skip":             skipSQL,
}

// TestStatementsMatchGoldenFiles fails when a built statement differs from
// its golden file; `go test ./shared/contacts -run Golden -update` rewrites
// them.
func TestStatementsMatchGoldenFiles(t *testing.T) {
	for name, sql := range statements {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "sql", name+".sql")
			got := strings.TrimSpace(sql) + "\n"
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the statement built; if the change is meant, run `go test ./shared/contacts -run Golden -update` and review the diff\n--- built:\n%s", path, got)
			}
		})
	}
	// A golden file no statement writes is a statement that was removed.
	files, _ := filepath.Glob(filepath.Join("testdata", "sql", "*.sql"))
	for _, f := range files {
		if _, ok := statements[strings.TrimSuffix(filepath.Base(f), ".sql")]; !ok {
			t.Errorf("%s has no statement; delete it", f)
		}
	}
}

// TestStatementsPrepare has PostgreSQL parse and plan each statement against
// the migrated schema: a statement that reads well in its golden file but
// names a column the schema lacks, or a parameter of two types, fails here.
func TestStatementsPrepare(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for name, sql := range statements {
		if _, err := conn.Conn().Prepare(ctx, name, sql); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestFindLiveProbesTheIndexWhateverTheStatistics holds FindLive's plan, as
// PostgreSQL makes it for the pipeline's unnamed statements, to descents of
// the unique index by key under statistics that an import has left behind:
// taken while the table was small, and a tenant the last ANALYZE never saw.
// A plan that scans the tenant's index entries and filters them by key
// costs every chunk as much as the contacts already stored.
func TestFindLiveProbesTheIndexWhateverTheStatistics(t *testing.T) {
	ctx := context.Background()
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = fmt.Sprintf("new%d@example.com", i)
	}
	for _, tc := range []struct {
		name string
		// seen is how many contacts of another tenant ANALYZE sees.
		seen int
	}{{"table analyzed small", 100}, {"tenant not in the statistics", 5000}} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.New(t)
			other, tenant := pgtest.Tenant(t, db), pgtest.Tenant(t, db)
			fill := func(tenant uuid.UUID, n int) {
				pgtest.InTx(t, db, tenant, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO contacts (id, tenant_id, email)
						SELECT gen_random_uuid(), $1, 'c' || g || '@example.com' FROM generate_series(1, $2::int) g`, tenant, n)
					return err
				})
			}
			fill(other, tc.seen)
			if _, err := db.Exec(ctx, `ANALYZE contacts`); err != nil {
				t.Fatal(err)
			}
			fill(tenant, 50000)
			pgtest.InTx(t, db, tenant, func(tx pgx.Tx) error {
				// As a chunk runs it: after Begin's settings.
				if _, err := Begin(ctx, tx, uuid.New()); err != nil {
					return err
				}
				for _, name := range []string{"find_live", "find_live_locked"} {
					rows, err := tx.Query(ctx, "EXPLAIN "+statements[name], tenant, keys)
					if err != nil {
						return err
					}
					lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
					if err != nil {
						return err
					}
					plan := strings.Join(lines, "\n")
					probes := false
					for _, l := range lines {
						l = strings.TrimSpace(l)
						switch {
						case strings.HasPrefix(l, "Index Cond:") && strings.Contains(l, "email_key"):
							probes = true
						case strings.HasPrefix(l, "Filter:") && strings.Contains(l, "email_key"):
							t.Errorf("%s filters the tenant's entries by key:\n%s", name, plan)
						}
					}
					if !probes {
						t.Errorf("%s does not look its keys up in the index:\n%s", name, plan)
					}
				}
				return nil
			})
		})
	}
}
