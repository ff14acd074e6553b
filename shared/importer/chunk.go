package importer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/readers"
	"github.com/portagehq/portage/shared/textcut"
)

// MaxErrorsKept bounds the row errors kept in a chunk result and in
// import_jobs.errors; the error report in the object store has all of them.
const MaxErrorsKept = 100

// maxProblem bounds a problem's message as it is counted: a message that
// quotes a long value stays a short key.
const maxProblem = 200

// ChunkResult is what one chunk did. Created + Updated + Skipped + Errors =
// Rows.
type ChunkResult struct {
	Index int `json:"index"`
	jobs.ChunkCounts
	// Replayed is true when the chunk had already been applied and this call
	// only returned the recorded result.
	Replayed bool `json:"replayed"`
	// Cancelled is true when the import was cancelled before the chunk
	// committed: nothing of it was applied.
	Cancelled bool `json:"cancelled,omitempty"`
}

// Deps are what the steps need; build them once per Lambda container.
type Deps struct {
	DB *pgxpool.Pool
	// Store holds the uploads and the pipeline's parts, manifests and reports.
	Store objstore.Store
	// ChunkRows is the number of file rows per chunk (default 5000).
	ChunkRows int
	// Limits bound what a file may hold (readers.DefaultLimits where zero).
	Limits readers.Limits
	// TempDir holds spooled XLSX and JSON uploads (default os.TempDir()).
	TempDir string
}

// maxConflictRetries bounds the reruns of a chunk transaction that lost a
// deadlock or serialization conflict to a concurrent import.
const maxConflictRetries = 5

// ApplyChunk applies one chunk in one transaction: contacts created or
// updated under the job's duplicate strategy, one import event per contact
// created, updated or skipped, the chunk's result row and the job's
// processed_rows. A chunk that was already applied changes nothing and
// returns the recorded result, so a retried or redriven chunk is harmless.
// Concurrent chunks of any jobs may run; they serialize on the contacts they
// share.
func ApplyChunk(ctx context.Context, d Deps, c Chunk) (ChunkResult, error) {
	rows, err := readPart(ctx, d.Store, c.Key)
	if err != nil {
		return ChunkResult{}, err
	}
	if len(rows) != c.Rows {
		return ChunkResult{}, apperr.Invalidf("chunk %d of job %s: part has %d rows, the manifest says %d", c.Index, c.JobID, len(rows), c.Rows)
	}
	var res ChunkResult
	err = retryConflicts(ctx, func() error {
		return postgres.InTenantTx(ctx, d.DB, c.TenantID, func(tx pgx.Tx) error {
			var err error
			res, err = applyChunkTx(ctx, tx, c, rows)
			return err
		})
	})
	if errors.Is(err, errChunkCancelled) {
		return ChunkResult{Index: c.Index, Cancelled: true}, nil
	}
	if err != nil {
		return res, postgres.AppError(fmt.Errorf("chunk %d of job %s: %w", c.Index, c.JobID, err))
	}
	return res, nil
}

// retryConflicts runs fn again, after a short wait that grows, while it
// loses a deadlock or serialization conflict to a concurrent import, at
// most maxConflictRetries times. The wait gives way to ctx: a Lambda's
// deadline ends it at once, as a transient error.
func retryConflicts(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !postgres.IsRetryable(err) || attempt == maxConflictRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return apperr.Retryable(fmt.Errorf("%w (after a conflict: %v)", ctx.Err(), err))
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
}

// errChunkCancelled ends the transaction of a chunk of a cancelled job,
// undoing its claim and its writes: the chunk is not applied, and the
// cancel counted the chunks that were.
var errChunkCancelled = errors.New("the import was cancelled")

func readPart(ctx context.Context, store objstore.Store, key string) ([]partRow, error) {
	rc, err := store.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, apperr.Invalidf("chunk part %s is missing; prepare must run again", key)
	}
	if err != nil {
		return nil, apperr.Retryable(err)
	}
	defer rc.Close()
	// Read into a string builder: the rows' values are substrings of the
	// part, with no copy of it on the way.
	var part strings.Builder
	if _, err := io.Copy(&part, rc); err != nil {
		return nil, apperr.Retryable(fmt.Errorf("read chunk part %s: %w", key, err))
	}
	rows, err := decodePart(part.String())
	if err != nil {
		return nil, apperr.Invalidf("chunk part %s is damaged (%v); prepare must run again", key, err)
	}
	return rows, nil
}

func applyChunkTx(ctx context.Context, tx pgx.Tx, c Chunk, rows []partRow) (ChunkResult, error) {
	res := ChunkResult{Index: c.Index, ChunkCounts: jobs.ChunkCounts{Rows: len(rows)}}
	claimed, err := jobs.ClaimChunk(ctx, tx, jobs.ChunkClaim{JobID: c.JobID, TenantID: c.TenantID, Index: c.Index,
		FirstRow: c.FirstRow, LastRow: c.LastRow, Rows: len(rows)})
	if err != nil {
		return res, err
	}
	if !claimed {
		recorded, err := jobs.RecordedChunk(ctx, tx, c.JobID, c.Index)
		return ChunkResult{Index: c.Index, ChunkCounts: recorded, Replayed: true}, err
	}
	job, err := jobs.GetImport(ctx, tx, c.JobID)
	if err != nil {
		return res, err
	}
	if det, err := jobs.GetDetails(ctx, tx, c.JobID); err != nil || det.CancelRequestedAt != nil {
		return res, cmp.Or(err, errChunkCancelled)
	}
	if job.Status == jobs.StatusFailed {
		// A redriven execution: the job goes on where it stopped.
		if _, err := jobs.Reopen(ctx, tx, c.JobID); err != nil {
			return res, err
		}
		job.Status = jobs.StatusProcessing
	}
	if job.Status != jobs.StatusProcessing {
		return res, jobs.WrongState("apply a chunk to", job.Status)
	}
	opts := &job.ImportOptions
	w, err := contacts.Begin(ctx, tx, c.JobID)
	if err != nil {
		return res, err
	}

	var valid []*partRow
	var rowErrors []mapping.RowError
	var dups []jobs.Duplicate
	for i := range rows {
		r := &rows[i]
		switch {
		case len(r.Errors) > 0:
			res.Errors++
			rowErrors = append(rowErrors, r.Errors...)
		case r.DupOf > 0:
			res.SkippedBy.InFileDuplicates++
			if len(dups) < MaxErrorsKept {
				dups = append(dups, jobs.Duplicate{Row: r.Row, DuplicateOf: r.DupOf})
			}
		case r.Input != nil:
			valid = append(valid, r)
		default:
			return res, apperr.Invalidf("chunk part %s: row %d is empty", c.Key, r.Row)
		}
	}

	outcomes, err := applyRows(ctx, tx, w, c, opts, valid)
	if err != nil {
		return res, err
	}
	res.Created, res.Updated = outcomes[created], outcomes[updated]
	res.SkippedBy.Unchanged, res.SkippedBy.KeptByStrategy = outcomes[skippedUnchanged], outcomes[skippedByStrategy]
	res.SkippedBy.NoMatch = outcomes[skippedNoMatch]
	res.Skipped = res.SkippedBy.Total()

	// Every row error counts toward its problem; only the first are kept.
	problems := map[string]int{}
	for _, e := range rowErrors {
		problems[textcut.Runes(e.Message, maxProblem)]++
	}
	if len(rowErrors) > MaxErrorsKept {
		rowErrors = rowErrors[:MaxErrorsKept]
	}
	errsJSON, err := json.Marshal(nonNil(rowErrors))
	if err != nil {
		return res, err
	}
	dupsJSON, err := json.Marshal(nonNil(dups))
	if err != nil {
		return res, err
	}
	if err := jobs.RecordChunk(ctx, tx, c.JobID, c.Index, res.ChunkCounts, errsJSON, dupsJSON, problems); err != nil {
		return res, err
	}
	// Last, under the job row's lock: a cancel that committed while this
	// chunk ran undoes all of it.
	if err := jobs.ChunkMayCommit(ctx, tx, c.JobID); err != nil {
		if errors.Is(err, jobs.ErrChunkRefused) {
			return res, errChunkCancelled
		}
		return res, err
	}
	return res, nil
}

// applyRows writes the valid rows and counts their outcomes. Keys are unique
// within the chunk (prepare made them so).
func applyRows(ctx context.Context, tx pgx.Tx, w *contacts.Writer, c Chunk, opts *jobs.Options, valid []*partRow) (map[outcome]int, error) {
	counts := map[outcome]int{}
	pending := valid
	for round := 0; len(pending) > 0; round++ {
		if round > 3 {
			return nil, fmt.Errorf("contacts keep being created concurrently for %d keys", len(pending))
		}
		keys := make([]string, len(pending))
		for i, r := range pending {
			keys[i] = r.Input.Key()
		}
		matches, err := contacts.FindLive(ctx, tx, c.TenantID, keys, !opts.DryRun)
		if err != nil {
			return nil, err
		}
		var creates []contacts.Row
		var createRows []*partRow
		var updates []contacts.Row
		var updatePrev, skips []contacts.Match
		for _, r := range pending {
			m, ok := matches[r.Input.Key()]
			if !ok {
				if opts.DuplicateStrategy == jobs.UpdateOnly {
					counts[skippedNoMatch]++
					continue
				}
				row, err := newContact(c.TenantID, opts, r.Input)
				if err != nil {
					return nil, err
				}
				creates = append(creates, row)
				createRows = append(createRows, r)
				continue
			}
			next, o, err := applyStrategy(opts, r.Input, &m.Row)
			if err != nil {
				return nil, err
			}
			counts[o]++
			if o == updated {
				updates = append(updates, next)
				updatePrev = append(updatePrev, m)
			} else {
				skips = append(skips, m)
			}
		}
		if opts.DryRun {
			counts[created] += len(creates)
			return counts, nil
		}
		if err := w.Update(ctx, updates, updatePrev); err != nil {
			return nil, err
		}
		if err := contacts.RememberCustomFields(ctx, tx, c.TenantID, creates, updates); err != nil {
			return nil, err
		}
		if err := w.Skip(ctx, skips); err != nil {
			return nil, err
		}
		inserted, err := w.Insert(ctx, c.TenantID, creates)
		if err != nil {
			return nil, err
		}
		// Keys another transaction created meanwhile are matches now: go round
		// again for them.
		pending = pending[:0:0]
		for i, r := range createRows {
			if inserted[creates[i].ID] {
				counts[created]++
			} else {
				pending = append(pending, r)
			}
		}
	}
	return counts, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
