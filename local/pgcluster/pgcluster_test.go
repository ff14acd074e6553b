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

// A stack killed with kill -9 leaves its server running on the kept data
// (nothing stopped it). The next start stops that server cleanly and
// starts its own on the same data; it used to delete the live server's pid
// file and fail.
func TestStartInAfterTheStackWasKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	left, err := pgcluster.StartIn(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(left.Dir()) })
	conn, err := pgx.Connect(ctx, left.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	// No Stop: the process that started it is gone.
	again, err := pgcluster.StartIn(ctx, dir)
	if err != nil {
		t.Fatalf("start after a kill: %v", err)
	}
	defer again.Stop()
	if _, err := pgx.Connect(ctx, left.URL); err == nil && left.URL != again.URL {
		t.Fatal("the server the killed stack left is still running")
	}
	c2, err := pgx.Connect(ctx, again.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	var n int
	if err := c2.QueryRow(ctx, `SELECT n FROM kept`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("data after the restart: %d, %v", n, err)
	}
}
