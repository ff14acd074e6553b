package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.New(t)
	tenantA, tenantB := uuid.New(), uuid.New()
	for _, tn := range []uuid.UUID{tenantA, tenantB} {
		err := postgres.InTenantTx(ctx, pool, tn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'x')`, tn); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO contacts (id, tenant_id, email) VALUES ($1, $2, 'a@example.com')`, uuid.New(), tn)
			return err
		})
		if err != nil {
			t.Fatalf("seed tenant %s: %v", tn, err)
		}
	}

	// A query that forgets its tenant filter still sees only its own tenant.
	t.Run("ReadsOnlyOwnRowsWithoutWhere", func(t *testing.T) {
		t.Parallel()
		var n int
		var seen uuid.UUID
		err := postgres.InTenantTx(ctx, pool, tenantA, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*), min(tenant_id::text)::uuid FROM contacts`).Scan(&n, &seen)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || seen != tenantA {
			t.Fatalf("tenant A saw %d contacts of tenant %s, want 1 of %s", n, seen, tenantA)
		}
	})

	// A query that names the other tenant explicitly finds nothing.
	t.Run("WrongWhereFindsNothing", func(t *testing.T) {
		t.Parallel()
		var n int
		err := postgres.InTenantTx(ctx, pool, tenantA, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE tenant_id = $1`, tenantB).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("tenant A read %d of tenant B's contacts", n)
		}
	})

	// Updates aimed at another tenant's rows touch nothing.
	t.Run("CannotUpdateOtherTenant", func(t *testing.T) {
		t.Parallel()
		var tag pgconn.CommandTag
		err := postgres.InTenantTx(ctx, pool, tenantA, func(tx pgx.Tx) error {
			var err error
			tag, err = tx.Exec(ctx, `UPDATE contacts SET first_name = 'pwned' WHERE tenant_id = $1`, tenantB)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() != 0 {
			t.Fatalf("tenant A updated %d of tenant B's rows", tag.RowsAffected())
		}
	})

	// Writing a row that claims another tenant is refused by WITH CHECK.
	t.Run("CannotInsertForOtherTenant", func(t *testing.T) {
		t.Parallel()
		err := postgres.InTenantTx(ctx, pool, tenantA, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO contacts (id, tenant_id, email) VALUES ($1, $2, 'evil@example.com')`, uuid.New(), tenantB)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("insert for tenant B from tenant A: got %v, want an RLS violation (42501)", err)
		}
	})

	// Moving an own row to another tenant is refused too.
	t.Run("CannotMoveRowToOtherTenant", func(t *testing.T) {
		t.Parallel()
		err := postgres.InTenantTx(ctx, pool, tenantA, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE contacts SET tenant_id = $1`, tenantB)
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("moving a row to tenant B: got %v, want an RLS violation (42501)", err)
		}
	})

	// With no tenant set at all, nothing is visible.
	t.Run("NoTenantSeesNothing", func(t *testing.T) {
		t.Parallel()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("a connection with no tenant saw %d contacts", n)
		}
	})

	// The application role the Lambdas use is bound by the same policies.
	t.Run("AppRoleIsBound", func(t *testing.T) {
		t.Parallel()
		var n int
		err := postgres.InTenantTx(ctx, pool, tenantA, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `GRANT portage_app TO CURRENT_USER`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SET LOCAL ROLE portage_app`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("portage_app as tenant A saw %d contacts, want 1", n)
		}
	})
}
