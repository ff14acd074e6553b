package contacts

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	"update_events":    updateEventsSQL,
	"skip":             skipSQL,
	"rollback_batch":   rollbackBatchSQL,
	"soft_delete":      softDeleteSQL,
	"restore":          restoreSQL,
	"undone_before":    undoneBeforeSQL,
	"remember_custom":  rememberCustomSQL,
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
