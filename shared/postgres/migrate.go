package postgres

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose uses
	"github.com/pressly/goose/v3"

	"github.com/portagehq/portage/migrations"
)

// Migrate applies every pending migration to the database at url and returns
// the versions applied. It is safe to run repeatedly.
func Migrate(ctx context.Context, url string) ([]int64, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	return MigrateDB(ctx, db)
}

// MigrateDB is Migrate on an open database/sql handle.
func MigrateDB(ctx context.Context, db *sql.DB) ([]int64, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}
