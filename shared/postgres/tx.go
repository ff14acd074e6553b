package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/apperr"
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
	return inTx(ctx, db, func(tx pgx.Tx) error { return SetTenant(ctx, tx, tenantID) }, fn)
}

// InSweeperTx runs fn in one transaction that no tenant scopes, for the
// work of the sweeper role across tenants (row-level security lets that
// role see every one), its statements bounded by StatementTimeout as a
// tenant transaction's are.
func InSweeperTx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	return inTx(ctx, db, func(tx pgx.Tx) error { return SetStatementTimeout(ctx, tx, StatementTimeout) }, fn)
}

// inTx runs setup then fn in one transaction, and commits it. fn's error
// rolls the transaction back and is returned as is.
func inTx(ctx context.Context, db Beginner, setup, fn func(pgx.Tx) error) error {
	tx, release, err := Begin(ctx, db)
	if err != nil {
		return err
	}
	defer release()
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if err := setup(tx); err != nil {
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

// AcquireTimeout bounds how long a transaction waits for a free
// connection of a pool. A pool that stays saturated longer is a transient
// error (a 503 with Retry-After at the API, a retried step in the
// pipeline): nothing queues without end behind others.
const AcquireTimeout = 10 * time.Second

// ErrBusy is the cause of the transient error of a pool with no connection
// free within AcquireTimeout.
var ErrBusy = errors.New("the database is busy")

// Begin starts a transaction on db. From a pool it waits at most
// AcquireTimeout for a connection; release gives the connection back and
// must be called after the transaction ends.
func Begin(ctx context.Context, db Beginner) (tx pgx.Tx, release func(), err error) {
	pool, ok := db.(*pgxpool.Pool)
	if !ok {
		tx, err := db.Begin(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("begin: %w", err)
		}
		return tx, func() {}, nil
	}
	actx, cancel := context.WithTimeout(ctx, AcquireTimeout)
	conn, err := pool.Acquire(actx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, apperr.Retryable(fmt.Errorf("%w: no connection free within %s", ErrBusy, AcquireTimeout))
		}
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	if tx, err = conn.Begin(ctx); err != nil {
		conn.Release()
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	return tx, conn.Release, nil
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
