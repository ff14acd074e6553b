package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// BeginRollback moves a job to rolling_back with the number of events the
// rollback will go through, and returns it.
func BeginRollback(ctx context.Context, tx pgx.Tx, id uuid.UUID, events int) (ImportJob, error) {
	j, err := scanImport(tx.QueryRow(ctx, `UPDATE import_jobs SET status = 'rolling_back'
		WHERE id = $1 AND status = ANY($2::text[]) RETURNING `+importColumns, id, from(OpBeginRollback)))
	if errors.Is(err, ErrNotFound) {
		return j, refused(ctx, tx, OpBeginRollback, id)
	}
	if err != nil {
		return j, err
	}
	if _, err := tx.Exec(ctx, `UPDATE import_job_details SET rollback_events = $2, rollback_done = 0, rollback_conflicts = 0,
		rollback_started_at = now(), updated_at = now() WHERE import_job_id = $1`, id, events); err != nil {
		return j, fmt.Errorf("begin the rollback of job %s: %w", id, err)
	}
	return j, nil
}

// RollbackProgress is where a job's rollback stands.
type RollbackProgress struct {
	Events, Done, Conflicts int
}

// RecordRollbackBatch adds a batch's reversed events and conflicts to the
// job's rollback progress.
func RecordRollbackBatch(ctx context.Context, tx pgx.Tx, id uuid.UUID, done, conflicts int) error {
	if _, err := tx.Exec(ctx, `UPDATE import_job_details SET rollback_done = rollback_done + $2,
		rollback_conflicts = rollback_conflicts + $3, updated_at = now() WHERE import_job_id = $1`,
		id, done, conflicts); err != nil {
		return fmt.Errorf("count the rollback progress of job %s: %w", id, err)
	}
	return nil
}

// CompleteRollback moves a rolling-back job to rolled_back; it can no
// longer be rolled back.
func CompleteRollback(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE import_jobs SET status = 'rolled_back', rolled_back_at = now() AT TIME ZONE 'UTC',
		can_rollback = false WHERE id = $1 AND status = ANY($2::text[])`, id, from(OpCompleteRollback))
	if err != nil {
		return fmt.Errorf("complete the rollback of job %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return refused(ctx, tx, OpCompleteRollback, id)
	}
	return nil
}

// GetRollbackProgress reads a job's rollback progress.
func GetRollbackProgress(ctx context.Context, tx pgx.Tx, id uuid.UUID) (RollbackProgress, error) {
	var p RollbackProgress
	err := tx.QueryRow(ctx, `SELECT coalesce(rollback_events, 0), rollback_done, rollback_conflicts
		FROM import_job_details WHERE import_job_id = $1`, id).Scan(&p.Events, &p.Done, &p.Conflicts)
	if err != nil {
		return p, fmt.Errorf("read the rollback progress of job %s: %w", id, err)
	}
	return p, nil
}
