package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// Every operation, run on a job in every status, succeeds exactly where
// jobs.Transitions allows it, and leaves the job in the table's status;
// anywhere else it is a conflict and the job is unchanged.
func TestTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	tenant := pgtest.Tenant(t, db)
	inTx := func(fn func(tx pgx.Tx) error) error { return postgres.InTenantTx(ctx, db, tenant, fn) }
	// errNotMoved is what the wrapper of Reopen (which reports whether it
	// moved the job, and has no error for a job it leaves) returns when the
	// job stayed where it was.
	errNotMoved := errors.New("not reopened")
	ops := map[jobs.Op]func(tx pgx.Tx, id uuid.UUID) error{
		jobs.OpAwaitReview: func(tx pgx.Tx, id uuid.UUID) error {
			return jobs.AwaitReview(ctx, tx, id, "token", []byte(`{}`))
		},
		jobs.OpStart: func(tx pgx.Tx, id uuid.UUID) error {
			_, err := jobs.StartReviewed(ctx, tx, id, map[string]string{"Email": "email"}, jobs.Options{DuplicateStrategy: jobs.Skip})
			return err
		},
		jobs.OpPrepare: func(tx pgx.Tx, id uuid.UUID) error {
			return jobs.MarkPrepared(ctx, tx, id, jobs.Prepared{TotalRows: 1, ManifestKey: "m", ChunkCount: 1, FileType: "csv"})
		},
		jobs.OpReopen: func(tx pgx.Tx, id uuid.UUID) error {
			ok, err := jobs.Reopen(ctx, tx, id)
			if err == nil && !ok {
				return errNotMoved
			}
			return err
		},
		jobs.OpComplete: func(tx pgx.Tx, id uuid.UUID) error {
			_, err := jobs.Complete(ctx, tx, id, jobs.ChunkSums{Chunks: 1, Rows: 1, Created: 1}, []byte("[]"))
			return err
		},
		jobs.OpFail: func(tx pgx.Tx, id uuid.UUID) error { return jobs.MarkFailed(ctx, tx, id, "test") },
		jobs.OpCancel: func(tx pgx.Tx, id uuid.UUID) error {
			return jobs.MarkCancelled(ctx, tx, id, []byte("[]"))
		},
		jobs.OpBeginRollback: func(tx pgx.Tx, id uuid.UUID) error {
			_, err := jobs.BeginRollback(ctx, tx, id, 1)
			return err
		},
		jobs.OpCompleteRollback: func(tx pgx.Tx, id uuid.UUID) error { return jobs.CompleteRollback(ctx, tx, id) },
	}
	if len(ops) != len(jobs.Transitions) {
		t.Fatalf("the test runs %d operations, the table has %d", len(ops), len(jobs.Transitions))
	}
	for op, run := range ops {
		for _, status := range jobs.Statuses {
			t.Run(fmt.Sprintf("%s from %s", op, status), func(t *testing.T) {
				id := uuid.New()
				err := inTx(func(tx pgx.Tx) error {
					if err := jobs.CreateImport(ctx, tx, jobs.NewImport{ID: id, TenantID: tenant, FileName: "a.csv",
						FileSize: 1, SourceKey: "uploads/a.csv"}); err != nil {
						return err
					}
					// total_rows: the job was prepared, which a reopen needs.
					_, err := tx.Exec(ctx, `UPDATE import_jobs SET status = $2, total_rows = 1 WHERE id = $1`, id, status)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				err = inTx(func(tx pgx.Tx) error { return run(tx, id) })
				var got jobs.ImportJob
				if rerr := inTx(func(tx pgx.Tx) (rerr error) { got, rerr = jobs.GetImport(ctx, tx, id); return rerr }); rerr != nil {
					t.Fatal(rerr)
				}
				if jobs.Allowed(op, status) {
					if err != nil {
						t.Fatalf("allowed, but: %v", err)
					}
					if want := jobs.Transitions[op].To; got.Status != want {
						t.Fatalf("status %s, want %s", got.Status, want)
					}
					return
				}
				switch {
				case op == jobs.OpReopen && err != errNotMoved:
					t.Fatalf("not allowed, but Reopen gave %v, want the job left as it was", err)
				case op != jobs.OpReopen && !apperr.Is(err, apperr.Conflict):
					t.Fatalf("not allowed, but got %v, want a conflict", err)
				}
				if got.Status != status {
					t.Fatalf("a refused %s moved the job to %s", op, got.Status)
				}
			})
		}
	}
}

// An operation on a job that is not there is not found, not a conflict.
func TestTransitionOfMissingJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	err := postgres.InTenantTx(ctx, db, uuid.New(), func(tx pgx.Tx) error {
		return jobs.MarkFailed(ctx, tx, uuid.New(), "x")
	})
	if !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("got %v, want not found", err)
	}
}
