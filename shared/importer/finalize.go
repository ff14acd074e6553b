package importer

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
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
		var err error
		if job, err = jobs.Lock(ctx, tx, jobID); err != nil || job.Status == jobs.StatusCompleted {
			return err
		}
		det, err := jobs.GetDetails(ctx, tx, jobID)
		if err != nil {
			return err
		}
		if det.CancelRequestedAt != nil {
			job, err = endCancelled(ctx, tx, job)
			return err
		}
		if job.Status == jobs.StatusFailed {
			// A redriven execution whose chunks had all been applied.
			reopened, err := jobs.Reopen(ctx, tx, jobID)
			if err != nil {
				return err
			}
			if reopened {
				job.Status = jobs.StatusProcessing
			}
		}
		if !jobs.Allowed(jobs.OpComplete, job.Status) {
			return jobs.WrongState(string(jobs.OpComplete), job.Status)
		}
		sums, err := jobs.SumChunks(ctx, tx, jobID)
		if err != nil {
			return err
		}
		if sums.Chunks != deref(det.ChunkCount) {
			// A chunk still running, or one Step Functions will retry.
			return apperr.Retryable(fmt.Errorf("finalize job %s: %d of %d chunks applied", jobID, sums.Chunks, deref(det.ChunkCount)))
		}
		total := deref(job.TotalRows)
		if sums.Created+sums.Updated+sums.Skipped+sums.Errors != sums.Rows || sums.Rows != total || job.ProcessedRows != total {
			return fmt.Errorf("finalize job %s: counters disagree: created %d + updated %d + skipped %d + errors %d, chunk rows %d, processed %d, total %d",
				jobID, sums.Created, sums.Updated, sums.Skipped, sums.Errors, sums.Rows, job.ProcessedRows, total)
		}
		errs, err := jobs.FirstChunkErrors(ctx, tx, jobID, MaxErrorsKept)
		if err != nil {
			return err
		}
		job, err = jobs.Complete(ctx, tx, jobID, sums, errs)
		return err
	})
	return job, postgres.AppError(err)
}

// endCancelled ends a job whose cancel was asked while it was processing
// but not ended then (by an earlier version): cancelled, with the counters
// of the chunks that ran. Any other status is left as it is.
func endCancelled(ctx context.Context, tx pgx.Tx, job jobs.ImportJob) (jobs.ImportJob, error) {
	if job.Status != jobs.StatusProcessing {
		return job, nil
	}
	if err := cancelWithCounts(ctx, tx, job.ID); err != nil {
		return job, err
	}
	return jobs.GetImport(ctx, tx, job.ID)
}

// Fail records why a job failed (the state machine's Catch). A job already
// completed or rolled back is left untouched.
func Fail(ctx context.Context, d Deps, tenantID, jobID uuid.UUID, reason string) error {
	err := postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		return jobs.MarkFailed(ctx, tx, jobID, reason)
	})
	return postgres.AppError(err)
}
