package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig says how to reach PostgreSQL. The zero value of every field but
// URL has a documented default.
type PoolConfig struct {
	// URL is a libpq connection string or URL. It may not carry startup
	// parameters that RDS Proxy refuses (see StartupParamsAccepted).
	URL string
	// MaxConns bounds the pool; a Lambda needs 1–2 (default 2).
	MaxConns int32
	// BeforeConnect, when set, may change the connection config before each
	// new connection, e.g. to put a fresh RDS IAM auth token in the password.
	BeforeConnect func(context.Context, *pgx.ConnConfig) error
}

// StartupParamsAccepted is every key RDS Proxy for PostgreSQL accepts in a
// client's startup message (user and database, and six runtime
// parameters), lower-cased since PostgreSQL reads parameter names without
// regard to case. RDS Proxy refuses a connection that sends any other, such
// as statement_timeout: timeouts are set per transaction instead
// (SetStatementTimeout).
var StartupParamsAccepted = map[string]bool{
	"user": true, "database": true,
	"application_name": true, "client_encoding": true, "datestyle": true, "timezone": true,
	"extra_float_digits": true, "search_path": true,
}

// CheckStartupParams returns an error naming every startup parameter RDS
// Proxy would refuse, or nil.
func CheckStartupParams(params map[string]string) error {
	var bad []string
	for k := range params {
		if !StartupParamsAccepted[strings.ToLower(k)] {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("RDS Proxy does not accept the startup parameter(s) %s: set them per transaction (set_config(…, true)) or per role instead",
		strings.Join(bad, ", "))
}

// NewPool returns a pool whose connections RDS Proxy accepts and can
// multiplex: statements go out with the extended protocol but no named
// prepared statements (QueryExecModeExec), the startup message carries only
// parameters RDS Proxy accepts, and every other setting is
// transaction-local (InTenantTx).
func NewPool(ctx context.Context, cfg PoolConfig) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns == 0 {
		pc.MaxConns = 2
	}
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pc.ConnConfig.StatementCacheCapacity = 0
	pc.ConnConfig.DescriptionCacheCapacity = 0
	rp := pc.ConnConfig.RuntimeParams
	for k := range rp {
		if strings.EqualFold(k, "timezone") {
			delete(rp, k)
		}
	}
	// The seed's job tables use TIMESTAMP without time zone: they hold UTC.
	rp["TimeZone"] = "UTC"
	if err := CheckStartupParams(rp); err != nil {
		return nil, err
	}
	if cfg.BeforeConnect != nil {
		pc.BeforeConnect = cfg.BeforeConnect
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return pool, nil
}
