package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig says how to reach PostgreSQL. The zero value of every field but
// URL has a documented default.
type PoolConfig struct {
	// URL is a libpq connection string or URL.
	URL string
	// MaxConns bounds the pool; a Lambda needs 1–2 (default 2).
	MaxConns int32
	// StatementTimeout is sent as a startup parameter so that no session SET is
	// needed (default 60s; zero keeps the default, negative disables it).
	StatementTimeout time.Duration
	// BeforeConnect, when set, may change the connection config before each
	// new connection, e.g. to put a fresh RDS IAM auth token in the password.
	BeforeConnect func(context.Context, *pgx.ConnConfig) error
}

// NewPool returns a pool whose connections never pin an RDS Proxy connection:
// statements go out with the extended protocol but no named prepared
// statements (QueryExecModeExec), and session settings are startup parameters.
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
	// The seed's job tables use TIMESTAMP without time zone: they hold UTC.
	rp["timezone"] = "UTC"
	timeout := cfg.StatementTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if timeout > 0 {
		rp["statement_timeout"] = fmt.Sprint(timeout.Milliseconds())
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
