package rdsproxy_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/local/rdsproxy"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// through returns dbURL with its host replaced by the proxy's.
func through(t *testing.T, p *rdsproxy.Proxy, dbURL string, query url.Values) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr()
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func start(t *testing.T, dbURL string) *rdsproxy.Proxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rdsproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestProxy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	p := start(t, dbURL)

	// The project's pool is what every Lambda uses: RDS Proxy must accept
	// its startup message, and a tenant transaction still gets its bound.
	t.Run("ProjectPoolConnectsWithTransactionTimeout", func(t *testing.T) {
		t.Parallel()
		pool, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: through(t, p, dbURL, nil)})
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var inTx, tz string
		err = postgres.InTenantTx(ctx, pool, uuid.New(), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('TimeZone')`).Scan(&inTx, &tz)
		})
		if err != nil {
			t.Fatal(err)
		}
		if inTx != "1min" || tz != "UTC" {
			t.Errorf("in a tenant transaction statement_timeout = %q, TimeZone = %q; want 1min and UTC", inTx, tz)
		}
		// Transaction-local: nothing is left on the session for the
		// next transaction the proxy multiplexes onto it.
		var after string
		if err := pool.QueryRow(ctx, `SELECT current_setting('statement_timeout')`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != "0" {
			t.Errorf("after the transaction statement_timeout = %q, want the server's 0", after)
		}
	})

	// What projects hit in AWS: a driver that sends statement_timeout in
	// the startup message is refused by RDS Proxy.
	t.Run("RefusesStatementTimeoutAtStartup", func(t *testing.T) {
		t.Parallel()
		_, err := pgx.Connect(ctx, through(t, p, dbURL, url.Values{"statement_timeout": {"5000"}}))
		if err == nil || !strings.Contains(err.Error(), "statement_timeout") {
			t.Fatalf("connect with statement_timeout: %v, want a refusal naming it", err)
		}
	})

	t.Run("AcceptsDocumentedRuntimeParameters", func(t *testing.T) {
		t.Parallel()
		conn, err := pgx.Connect(ctx, through(t, p, dbURL, url.Values{"application_name": {"portage"}, "search_path": {"public"}}))
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
	})

	t.Run("RefusesReplication", func(t *testing.T) {
		t.Parallel()
		_, err := pgx.Connect(ctx, through(t, p, dbURL, url.Values{"replication": {"database"}}))
		if err == nil || !strings.Contains(err.Error(), "replication") {
			t.Fatalf("replication connection: %v, want a refusal", err)
		}
	})
}

// The pool refuses, before connecting anywhere, a URL that would make RDS
// Proxy refuse every connection.
func TestNewPoolRefusesUnsupportedStartupParameters(t *testing.T) {
	t.Parallel()
	_, err := postgres.NewPool(context.Background(), postgres.PoolConfig{
		URL: "postgres://u@127.0.0.1:1/db?statement_timeout=1000&lock_timeout=10"})
	if err == nil || !strings.Contains(err.Error(), "lock_timeout, statement_timeout") {
		t.Fatalf("NewPool: %v, want an error naming lock_timeout and statement_timeout", err)
	}
}
