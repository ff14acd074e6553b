package pgtest

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/postgres"
)

// Tenant creates a tenant in db and returns its id.
func Tenant(t testing.TB, db postgres.Beginner) uuid.UUID {
	t.Helper()
	id := uuid.New()
	InTx(t, db, id, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO tenants (id, name) VALUES ($1, 'test')`, id)
		return err
	})
	return id
}

// InTx runs fn in a transaction scoped to tenant, as the pipeline runs its
// statements, and fails the test on an error.
func InTx(t testing.TB, db postgres.Beginner, tenant uuid.UUID, fn func(pgx.Tx) error) {
	t.Helper()
	if err := postgres.InTenantTx(context.Background(), db, tenant, fn); err != nil {
		t.Fatal(err)
	}
}
