package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Beginner is what InTenantTx needs: a pool, a connection or a transaction
// (which then gives a savepoint).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTenantTx runs fn in one transaction scoped to tenantID: the setting that
// the row-level security policies read is set for this transaction only
// (set_config(..., true)), so nothing leaks to the next user of the
// connection. fn's error rolls the transaction back and is returned as is.
func InTenantTx(ctx context.Context, db Beginner, tenantID uuid.UUID, fn func(pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if err := SetTenant(ctx, tx, tenantID); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// StatementTimeout bounds every statement of a tenant transaction unless the
// transaction sets its own (SetStatementTimeout): a runaway query ends with
// an error instead of holding a connection of RDS Proxy's pool. It is set
// per transaction because RDS Proxy refuses it as a startup parameter, and a
// session SET would pin the connection.
const StatementTimeout = 60 * time.Second

// SetTenant scopes the current transaction to tenantID for row-level
// security and bounds its statements by StatementTimeout, both with
// set_config(…, true), which ends with the transaction.
func SetTenant(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error {
	if tenantID == uuid.Nil {
		return errors.New("set tenant: no tenant id")
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('portage.tenant_id', $1, true), set_config('statement_timeout', $2, true)`,
		tenantID.String(), timeoutSetting(StatementTimeout)); err != nil {
		return fmt.Errorf("set tenant: %w", err)
	}
	return nil
}

// SetStatementTimeout bounds the statements of the rest of the current
// transaction by d (0: no bound), e.g. for an export's single long COPY.
func SetStatementTimeout(ctx context.Context, tx pgx.Tx, d time.Duration) error {
	if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`, timeoutSetting(d)); err != nil {
		return fmt.Errorf("set statement timeout: %w", err)
	}
	return nil
}

func timeoutSetting(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10)
}
