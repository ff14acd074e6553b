package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portagehq/portage/shared/apperr"
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

// A connection lost under a transaction is transient: the step that hit
// it is retried, it does not fail the import. Both ways a connection goes:
// the server ends it with a message (a restart, pg_terminate_backend), or
// the socket is reset (a crash, a failover, a proxy dropping it: here a TCP
// relay the test cuts).
func TestLostConnectionIsTransient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	owner := pgtest.New(t)
	tenant := pgtest.Tenant(t, owner)
	relay := newRelay(t, owner.Config().ConnConfig.Host, owner.Config().ConnConfig.Port)
	cfg := owner.Config().ConnConfig
	url := fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", cfg.User, cfg.Password, relay.addr, cfg.Database)
	pool, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, tt := range []struct {
		name string
		lose func(pid int) error
	}{
		{"Terminated", func(pid int) error {
			_, err := owner.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid)
			return err
		}},
		{"SocketReset", func(int) error { relay.cut(); return nil }},
	} {
		err := postgres.InTenantTx(ctx, pool, tenant, func(tx pgx.Tx) error {
			var pid int
			if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				return err
			}
			// Lost while the statement runs, as a restart finds it.
			lost := make(chan error, 1)
			go func() {
				time.Sleep(200 * time.Millisecond)
				lost <- tt.lose(pid)
			}()
			_, err := tx.Exec(ctx, `SELECT pg_sleep(3)`)
			if lerr := <-lost; lerr != nil {
				return lerr
			}
			return err
		})
		if err == nil {
			t.Fatalf("%s: a statement on a lost connection succeeded", tt.name)
		}
		if !apperr.Is(postgres.AppError(err), apperr.Transient) {
			t.Errorf("%s: %v is not transient", tt.name, err)
		}
	}
}

// The errors a socket gives when the server goes away under a statement
// are lost connections, wrapped as the driver wraps them.
func TestSocketErrorsAreConnectionErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		fmt.Errorf("read: %w", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
		fmt.Errorf("write: %w", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}),
		fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
		fmt.Errorf("conn: %w", net.ErrClosed),
	} {
		if !postgres.IsConnectionError(err) || !apperr.Is(postgres.AppError(err), apperr.Transient) {
			t.Errorf("%v is not a lost connection", err)
		}
	}
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, errors.New("syntax error")} {
		if postgres.IsConnectionError(err) {
			t.Errorf("%v is taken for a lost connection", err)
		}
	}
}

// relay forwards TCP connections to a server until cut closes them all.
type relay struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func newRelay(t *testing.T, host string, port uint16) *relay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &relay{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, s)
			r.mu.Unlock()
			go io.Copy(s, c) //nolint:errcheck // ends when cut
			go io.Copy(c, s) //nolint:errcheck
		}
	}()
	return r
}

func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		// A reset, not a close: what a client sees of a server that died
		// with data in flight.
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) //nolint:errcheck
		}
		c.Close()
	}
	r.conns = nil
}

// A pool whose every connection is held gives a transient error after
// AcquireTimeout, never an unbounded wait.
func TestBusyPoolIsTransient(t *testing.T) {
	t.Parallel()
	err := postgres.InTenantTx(context.Background(), pgtest.BusyPool(t), uuid.New(), func(pgx.Tx) error { return nil })
	if !errors.Is(err, postgres.ErrBusy) || !apperr.Is(err, apperr.Transient) {
		t.Fatalf("busy pool: %v", err)
	}
}
