package importer

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// Finalize sums the chunk results into the job, keeps the first row errors
// (in row order) in import_jobs.errors and completes the job. It refuses to
// complete a job some of whose chunks have not been applied, and checks the
// invariant created + updated + skipped + errors = processed = total rows.
// Finalizing a completed job returns it unchanged.
func Finalize(ctx context.Context, d Deps, tenantID, jobID uuid.UUID) (jobs.ImportJob, error) {
	var job jobs.ImportJob
	err := postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM import_jobs WHERE id = $1 FOR UPDATE`, jobID).Scan(&status); err != nil {
			if err == pgx.ErrNoRows {
				return jobs.ErrNotFound
			}
			return err
		}
		if status == jobs.StatusCompleted {
			var err error
			job, err = jobs.GetImport(ctx, tx, jobID)
			return err
		}
		if status == jobs.StatusFailed {
			// A redriven execution whose chunks had all been applied.
			reopened, err := jobs.Reopen(ctx, tx, jobID)
			if err != nil {
				return err
			}
			if reopened {
				status = jobs.StatusProcessing
			}
		}
		if status != jobs.StatusProcessing {
			return fmt.Errorf("finalize a %s job: %w", status, jobs.ErrWrongState)
		}
		det, err := jobs.GetDetails(ctx, tx, jobID)
		if err != nil {
			return err
		}
		sums, err := jobs.SumChunks(ctx, tx, jobID)
		if err != nil {
			return err
		}
		n, rows, created, updated, skipped, errCount := sums.Chunks, sums.Rows, sums.Created, sums.Updated, sums.Skipped, sums.Errors
		errs, err := jobs.FirstChunkErrors(ctx, tx, jobID, MaxErrorsKept)
		if err != nil {
			return err
		}
		if n != deref(det.ChunkCount) {
			return &TransientError{Err: fmt.Errorf("finalize job %s: %d of %d chunks applied", jobID, n, deref(det.ChunkCount))}
		}
		job, err = jobs.GetImport(ctx, tx, jobID)
		if err != nil {
			return err
		}
		total := deref(job.TotalRows)
		if created+updated+skipped+errCount != rows || rows != total || job.ProcessedRows != total {
			return fmt.Errorf("finalize job %s: counters disagree: created %d + updated %d + skipped %d + errors %d, chunk rows %d, processed %d, total %d",
				jobID, created, updated, skipped, errCount, rows, job.ProcessedRows, total)
		}
		_, err = tx.Exec(ctx, `
			UPDATE import_jobs SET status = 'completed', completed_at = now() AT TIME ZONE 'UTC',
				created_count = $2, updated_count = $3, skipped_count = $4, error_count = $5,
				imported_count = $7, errors = $6
			WHERE id = $1`, jobID, created, updated, skipped, errCount, string(errs), created+updated)
		if err != nil {
			return fmt.Errorf("complete job: %w", err)
		}
		job, err = jobs.GetImport(ctx, tx, jobID)
		return err
	})
	if err != nil {
		return job, classify(err)
	}
	return job, nil
}

// Fail records why a job failed (the state machine's Catch). A job already
// completed or rolled back is left untouched.
func Fail(ctx context.Context, d Deps, tenantID, jobID uuid.UUID, reason string) error {
	err := postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		return jobs.MarkFailed(ctx, tx, jobID, reason)
	})
	return classify(err)
}
