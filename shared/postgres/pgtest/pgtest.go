// Package pgtest gives each test its own freshly migrated PostgreSQL database,
// cloned from a template in a few milliseconds (pgtestdb). The server is the
// one DATABASE_URL names; `make test` starts a throwaway cluster and sets it.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver pgtestdb connects with
	"github.com/peterldowns/pgtestdb"

	"github.com/portagehq/portage/migrations"
	"github.com/portagehq/portage/shared/postgres"
)

// New returns a pool on a new database with every migration applied. The
// pool connects as a role that owns the tables but is no superuser, so
// row-level security (forced on the tenant tables) applies to it. The
// database is dropped when the test passes.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	conf := pgtestdb.Custom(t, serverConfig(t), migrator{})
	pool, err := postgres.NewPool(context.Background(), postgres.PoolConfig{URL: conf.URL(), MaxConns: 8})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// URL returns the connection URL of a new migrated database, for code under
// test that opens its own connections.
func URL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, serverConfig(t), migrator{}).URL()
}

func serverConfig(t testing.TB) pgtestdb.Config {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		t.Fatal("pgtest: DATABASE_URL is not set; run the tests with `make test`, which starts a throwaway PostgreSQL cluster")
	}
	pc, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatalf("pgtest: parse DATABASE_URL: %v", err)
	}
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       pc.Host,
		Port:       strconv.Itoa(int(pc.Port)),
		User:       pc.User,
		Password:   pc.Password,
		Database:   pc.Database,
		Options:    "sslmode=disable",
		TestRole: &pgtestdb.Role{
			Username: "portage_test",
			Password: "portage_test",
			// CREATEROLE: the first migration creates the application role.
			Capabilities: "NOSUPERUSER NOCREATEDB CREATEROLE",
		},
	}
}

// migrator applies the embedded migrations; its hash changes with them, so
// pgtestdb builds a new template whenever a migration changes.
type migrator struct{}

func (migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	_, err := postgres.MigrateDB(ctx, db)
	return err
}

// BusyPool returns a pool of one connection on a new migrated database,
// that connection held until the test ends: every transaction begun on the
// pool waits for a connection, as on a saturated pool.
func BusyPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: New(t).Config().ConnString(), MaxConns: 1})
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	held, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		held.Release()
		pool.Close()
	})
	return pool
}
