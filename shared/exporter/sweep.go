package exporter

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
	err := pgx.BeginFunc(ctx, s.DB, func(tx pgx.Tx) error {
		if err := postgres.SetStatementTimeout(ctx, tx, postgres.StatementTimeout); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT j.id, d.object_key FROM export_jobs j
			LEFT JOIN export_job_details d ON d.export_job_id = j.id
			WHERE j.status = 'completed' AND j.expires_at < now() AT TIME ZONE 'UTC'
			ORDER BY j.expires_at LIMIT 1000 FOR UPDATE OF j SKIP LOCKED`)
		if err != nil {
			return fmt.Errorf("find expired exports: %w", err)
		}
		var ids []string
		var keys []*string
		for rows.Next() {
			var id string
			var key *string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return err
			}
			ids, keys = append(ids, id), append(keys, key)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			if k != nil {
				if err := s.Store.Delete(ctx, *k); err != nil {
					return err
				}
			}
		}
		if len(ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE export_jobs SET status = 'expired' WHERE id = ANY($1::uuid[])`, ids)
		n = int(tag.RowsAffected())
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
