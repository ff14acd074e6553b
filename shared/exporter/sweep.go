package exporter

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
)

// Sweeper expires exports: the S3 lifecycle rule deletes exports/ objects
// after 7 days, but lazily (rounded to the next midnight, sometimes later),
// so the application marks expired jobs itself and deletes any file the rule
// has not removed yet.
//
// DB must connect as a role granted portage_sweeper: row-level security lets
// it see and update exports whose expires_at has passed, in every tenant,
// and nothing else.
type Sweeper struct {
	DB    *pgxpool.Pool
	Store objstore.Store
	Log   *slog.Logger
}

// Sweep expires up to 1000 exports and returns how many.
func (s Sweeper) Sweep(ctx context.Context) (int, error) {
	n := 0
	err := postgres.InSweeperTx(ctx, s.DB, func(tx pgx.Tx) error {
		expired, err := jobs.LockExpiredExports(ctx, tx, 1000)
		if err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(expired))
		for i, e := range expired {
			if e.ObjectKey != nil {
				if err := s.Store.Delete(ctx, *e.ObjectKey); err != nil {
					return err
				}
			}
			ids[i] = e.ID
		}
		if len(ids) == 0 {
			return nil
		}
		n, err = jobs.MarkExpired(ctx, tx, ids)
		return err
	})
	if err == nil && n > 0 {
		s.log().InfoContext(ctx, "exports expired", "count", n)
	}
	return n, err
}

func (s Sweeper) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Handle is the sweeper Lambda's handler (an EventBridge schedule).
func (s Sweeper) Handle(ctx context.Context) error {
	_, err := s.Sweep(ctx)
	return err
}
