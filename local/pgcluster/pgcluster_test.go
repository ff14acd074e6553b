package pgcluster_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/local/pgcluster"
)

// A cluster started in a directory keeps its data across a stop and a
// start (portage dev's data).
func TestStartInKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	c, err := pgcluster.StartIn(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.Dir()) })
	exec := func(c *pgcluster.Cluster, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(c, `CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)`)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	c2, err := pgcluster.StartIn(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	if c2.Dir() != c.Dir() {
		t.Fatalf("restarted in %s, not %s", c2.Dir(), c.Dir())
	}
	exec(c2, `DO $$ BEGIN IF (SELECT n FROM kept) <> 42 THEN RAISE 'lost'; END IF; END $$`)
}
