// Package reconcile finds the jobs that nothing will finish — an import
// whose execution is gone or ended without recording it (a failure the
// EventBridge rule missed, a deleted execution, a killed process), an
// upload that never came, an export whose worker died — and fails them
// with the reason and, for imports, the counters of the chunks they
// committed, so that they can be redriven or rolled back. It runs on the
// export sweeper's schedule, as the sweeper's role: it finds the jobs that
// have not ended across tenants (all that role sees of them), then fails a
// stranded one in a transaction scoped to its tenant.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// Describer is the part of the Step Functions client the reconciler needs.
type Describer interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// RollbackStarter starts or resumes a job's rollback
// (lambdafn.RollbackStarter: a running execution is left alone, a failed
// one redriven).
type RollbackStarter interface {
	Start(ctx context.Context, tenantID, jobID uuid.UUID) error
}

// Reconciler fails stranded jobs and resumes stalled rollbacks. The zero
// values of the durations take the defaults documented on each.
type Reconciler struct {
	DB  *pgxpool.Pool
	SFN Describer
	// Rollbacks resumes a rollback that has not moved for RollbackStall
	// (10 minutes: a batch takes seconds); nil leaves them.
	Rollbacks     RollbackStarter
	RollbackStall time.Duration
	// StateMachineARN is the import state machine: a job's execution is
	// named after the job.
	StateMachineARN string
	// UploadWindow is how long a pending job waits for its upload (a day).
	UploadWindow time.Duration
	// Grace is how long a job may run before its execution is looked up
	// (5 minutes: the trigger starts it within seconds).
	Grace time.Duration
	// ExportWindow is how long an export may stay unfinished: past the
	// export function's 15-minute timeout and its retries (1 hour).
	ExportWindow time.Duration
	Log          *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Result counts what a run failed, and the rollbacks it resumed.
type Result struct {
	Imports, Exports, Rollbacks int
}

// Handle runs once (the schedule's invocation).
func (r Reconciler) Handle(ctx context.Context) error {
	_, err := r.Run(ctx)
	return err
}

// Run fails every stranded import it finds, looking at every open one a
// page at a time (abandoned uploads, however many, hide no stranded job
// behind them), and at most 100 stranded exports a run.
func (r Reconciler) Run(ctx context.Context) (Result, error) {
	var res Result
	var after *jobs.OpenImport
	for {
		page, err := r.openImports(ctx, after)
		if err != nil {
			return res, err
		}
		for _, j := range page {
			reason, stranded, err := r.strandedImport(ctx, j)
			if err != nil {
				return res, err
			}
			if !stranded {
				continue
			}
			if err := r.failImport(ctx, j.TenantID, j.ID, reason); err != nil {
				return res, err
			}
			res.Imports++
			r.log().WarnContext(ctx, "stranded import failed", "job_id", j.ID, "tenant_id", j.TenantID, "reason", reason)
		}
		if len(page) < openPage {
			break
		}
		after = &page[len(page)-1]
	}
	n, err := r.failExports(ctx)
	res.Exports = n
	if err != nil {
		return res, err
	}
	res.Rollbacks, err = r.resumeRollbacks(ctx)
	return res, err
}

// resumeRollbacks starts again every rollback that has not moved for
// RollbackStall: its execution was lost or failed (a crash, a deploy), and
// nothing else would finish it. Batches are idempotent, so a rollback
// resumed while its execution still runs only repeats nothing.
func (r Reconciler) resumeRollbacks(ctx context.Context) (int, error) {
	if r.Rollbacks == nil {
		return 0, nil
	}
	n := 0
	after := uuid.Nil
	for {
		var page []jobs.StalledRollback
		err := postgres.InSweeperTx(ctx, r.DB, func(tx pgx.Tx) error {
			var err error
			page, err = jobs.StalledRollbacks(ctx, tx, r.now().Add(-or(r.RollbackStall, 10*time.Minute)), after, openPage)
			return err
		})
		if err != nil {
			return n, err
		}
		for _, j := range page {
			// One rollback that cannot be resumed (its execution in a
			// state nothing expects) is logged, and the others go on.
			if err := r.Rollbacks.Start(ctx, j.TenantID, j.ID); err != nil {
				r.log().ErrorContext(ctx, "stalled rollback not resumed", "job_id", j.ID, "tenant_id", j.TenantID, "error", err)
				continue
			}
			n++
			r.log().WarnContext(ctx, "stalled rollback resumed", "job_id", j.ID, "tenant_id", j.TenantID)
		}
		if len(page) < openPage {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}

// openPage is how many open imports a query of the reconciler reads.
const openPage = 100

func (r Reconciler) openImports(ctx context.Context, after *jobs.OpenImport) ([]jobs.OpenImport, error) {
	var out []jobs.OpenImport
	err := postgres.InSweeperTx(ctx, r.DB, func(tx pgx.Tx) error {
		var err error
		out, err = jobs.OpenImports(ctx, tx, after, openPage)
		return err
	})
	return out, err
}

// strandedImport decides from the job's execution whether anything will
// still finish it.
func (r Reconciler) strandedImport(ctx context.Context, j jobs.OpenImport) (string, bool, error) {
	now := r.now()
	// The seed's timestamps hold UTC without a zone.
	age := now.Sub(j.CreatedAt)
	if age < r.grace() {
		return "", false, nil
	}
	arn := strings.Replace(r.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + j.ID.String()
	d, err := r.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *sfntypes.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		if j.Status == jobs.StatusAwaitingReview {
			return "the import's execution is gone while it waited for review, so it cannot start; nothing was written: start a new import", true, nil
		}
		if j.Status == "pending" {
			if age < r.uploadWindow() {
				return "", false, nil // the upload may still come
			}
			return fmt.Sprintf("no upload arrived within %s of the import's creation; start a new import", r.uploadWindow()), true, nil
		}
		return "the import's execution is gone, so nothing will finish it; the contacts of the chunks it applied are kept: roll the import back to undo them, or import the file again", true, nil
	case err != nil:
		return "", false, fmt.Errorf("describe execution %s: %w", arn, err)
	}
	switch d.Status {
	case sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusPendingRedrive, sfntypes.ExecutionStatusSucceeded:
		return "", false, nil
	}
	return fmt.Sprintf("the import stopped on an internal error (its execution ended %s); an operator can retry it, or roll back what it applied", d.Status), true, nil
}

// failImport fails a job with the counters of its committed chunks.
func (r Reconciler) failImport(ctx context.Context, tenant, id uuid.UUID, reason string) error {
	return postgres.InTenantTx(ctx, r.DB, tenant, func(tx pgx.Tx) error {
		err := jobs.MarkFailed(ctx, tx, id, reason)
		if errors.Is(err, jobs.ErrWrongState) {
			return nil // it ended meanwhile
		}
		return err
	})
}

// failExports fails the exports no worker finishes: past the export
// window, an export still pending or processing has lost its worker.
func (r Reconciler) failExports(ctx context.Context) (int, error) {
	var stale []jobs.ExportRef
	err := postgres.InSweeperTx(ctx, r.DB, func(tx pgx.Tx) error {
		var err error
		stale, err = jobs.OpenExportsBefore(ctx, tx, r.now().Add(-r.exportWindow()), 100)
		return err
	})
	if err != nil {
		return 0, err
	}
	const reason = "the export's worker stopped before it finished; start the export again"
	n := 0
	for _, e := range stale {
		err := postgres.InTenantTx(ctx, r.DB, e.TenantID, func(tx pgx.Tx) error {
			failed, err := jobs.FailExport(ctx, tx, e.ID, reason)
			if failed {
				n++
			}
			return err
		})
		if err != nil {
			return n, fmt.Errorf("fail export %s: %w", e.ID, err)
		}
		r.log().WarnContext(ctx, "stranded export failed", "export_id", e.ID, "tenant_id", e.TenantID)
	}
	return n, nil
}

func (r Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r Reconciler) grace() time.Duration        { return or(r.Grace, 5*time.Minute) }
func (r Reconciler) uploadWindow() time.Duration { return or(r.UploadWindow, 24*time.Hour) }
func (r Reconciler) exportWindow() time.Duration { return or(r.ExportWindow, time.Hour) }

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (r Reconciler) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

// Scheduled is the schedule's handler: the export sweeper, then the
// reconciler; each runs whether or not the other failed.
func Scheduled(sweep, reconcile func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		return errors.Join(sweep(ctx), reconcile(ctx))
	}
}
