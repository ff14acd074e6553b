package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/textcut"
)

// ErrNotFound means no import with that id is visible to the tenant.
var ErrNotFound = &apperr.Error{Code: apperr.NotFound, Message: "no such import"}

// ImportJob is an import_jobs row; JSON names are the seed's column names.
type ImportJob struct {
	ID            uuid.UUID         `json:"id"`
	TenantID      uuid.UUID         `json:"tenant_id"`
	WorkspaceID   *uuid.UUID        `json:"workspace_id"`
	FileName      string            `json:"file_name"`
	FileSize      int64             `json:"file_size"`
	FileURL       string            `json:"file_url"`
	FileType      string            `json:"file_type"`
	FieldMapping  map[string]string `json:"field_mapping"`
	ImportOptions Options           `json:"import_options"`
	Status        string            `json:"status"`
	TotalRows     *int              `json:"total_rows"`
	ImportedCount int               `json:"imported_count"`
	UpdatedCount  int               `json:"updated_count"`
	CreatedCount  int               `json:"created_count"`
	SkippedCount  int               `json:"skipped_count"`
	ErrorCount    int               `json:"error_count"`
	Errors        json.RawMessage   `json:"errors"`
	ProcessedRows int               `json:"processed_rows"`
	StartedAt     *time.Time        `json:"started_at"`
	CompletedAt   *time.Time        `json:"completed_at"`
	CreatedBy     *uuid.UUID        `json:"created_by"`
	CreatedAt     time.Time         `json:"created_at"`
	CanRollback   bool              `json:"can_rollback"`
	RolledBackAt  *time.Time        `json:"rolled_back_at"`
}

// Details is the import_job_details row of a job.
type Details struct {
	SourceKey         string
	ManifestKey       *string
	ErrorReportKey    *string
	ChunkCount        *int
	FailureReason     *string
	RollbackEvents    *int
	RollbackDone      int
	RollbackConflicts int
	RollbackStartedAt *time.Time
	// Review: the job waits for a person after Inspect.
	Review            bool
	CancelRequestedAt *time.Time
}

// NewImport describes a job to create.
type NewImport struct {
	ID           uuid.UUID
	TenantID     uuid.UUID
	CreatedBy    *uuid.UUID
	FileName     string
	FileSize     int64
	FileURL      string
	FileType     string
	SourceKey    string
	FieldMapping map[string]string
	Options      Options
	// Review stops the job after Inspect until a person starts it.
	Review bool
}

// CreateImport inserts a pending job and its details. A workspace_id in the
// options must be one of the tenant's workspaces.
func CreateImport(ctx context.Context, tx pgx.Tx, n NewImport) error {
	if err := checkWorkspace(ctx, tx, n.Options.WorkspaceID); err != nil {
		return err
	}
	// JSON goes out as text: in exec mode pgx would send []byte as bytea.
	var mappingJSON *string
	if n.FieldMapping != nil {
		b, err := json.Marshal(n.FieldMapping)
		if err != nil {
			return err
		}
		s := string(b)
		mappingJSON = &s
	}
	optsJSON, err := json.Marshal(n.Options)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO import_jobs (id, tenant_id, workspace_id, file_name, file_size, file_url, file_type,
			field_mapping, import_options, status, created_by, can_rollback)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, NOT $11)`,
		n.ID, n.TenantID, n.Options.WorkspaceID, n.FileName, n.FileSize, n.FileURL, nullIfEmpty(n.FileType),
		mappingJSON, string(optsJSON), n.CreatedBy, n.Options.DryRun)
	if err != nil {
		return fmt.Errorf("create import job %s: %w", n.ID, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO import_job_details (import_job_id, tenant_id, source_key, review) VALUES ($1, $2, $3, $4)`,
		n.ID, n.TenantID, n.SourceKey, n.Review)
	if err != nil {
		return fmt.Errorf("create import job %s details: %w", n.ID, err)
	}
	return nil
}

// checkWorkspace refuses a workspace_id that is not one of the tenant's.
func checkWorkspace(ctx context.Context, tx pgx.Tx, w *uuid.UUID) error {
	if w == nil {
		return nil
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = $1)`, *w).Scan(&ok); err != nil {
		return fmt.Errorf("check workspace %s: %w", *w, err)
	}
	if !ok {
		return apperr.Invalidf("import_options.workspace_id %s is not a workspace of yours", *w)
	}
	return nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const importColumns = `id, tenant_id, workspace_id, coalesce(file_name, ''), coalesce(file_size, 0), coalesce(file_url, ''),
	coalesce(file_type, ''), field_mapping, import_options, coalesce(status, ''), total_rows,
	coalesce(imported_count, 0), coalesce(updated_count, 0), coalesce(created_count, 0),
	coalesce(skipped_count, 0), coalesce(error_count, 0), coalesce(errors, '[]'::jsonb),
	coalesce(processed_rows, 0), started_at, completed_at, created_by, created_at,
	coalesce(can_rollback, false), rolled_back_at`

// GetImport reads a job, or returns ErrNotFound.
func GetImport(ctx context.Context, tx pgx.Tx, id uuid.UUID) (ImportJob, error) {
	return scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM import_jobs WHERE id = $1`, id))
}

// Lock reads a job and locks its row until the transaction ends: the
// first statement of every step that changes the job, so that concurrent
// steps of one job take turns.
func Lock(ctx context.Context, tx pgx.Tx, id uuid.UUID) (ImportJob, error) {
	// NO KEY UPDATE, not UPDATE: the chunks in flight hold KEY SHARE on the
	// job (their rows reference it), and a cancel must not wait for them; it
	// still waits for, and is waited for by, a chunk's last step (RecordChunk
	// then ChunkMayCommit), which takes the same lock.
	return scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM import_jobs WHERE id = $1 FOR NO KEY UPDATE`, id))
}

// scanImport reads a row of importColumns, then the columns in more.
func scanImport(row pgx.Row, more ...any) (ImportJob, error) {
	var j ImportJob
	var mappingJSON, optsJSON []byte
	var created time.Time
	err := row.Scan(append([]any{&j.ID, &j.TenantID, &j.WorkspaceID, &j.FileName, &j.FileSize, &j.FileURL, &j.FileType,
		&mappingJSON, &optsJSON, &j.Status, &j.TotalRows, &j.ImportedCount, &j.UpdatedCount, &j.CreatedCount,
		&j.SkippedCount, &j.ErrorCount, &j.Errors, &j.ProcessedRows, &j.StartedAt, &j.CompletedAt,
		&j.CreatedBy, &created, &j.CanRollback, &j.RolledBackAt}, more...)...)
	if postgres.IsNotFound(err) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("read import job: %w", err)
	}
	j.CreatedAt = created
	if len(mappingJSON) > 0 {
		if err := json.Unmarshal(mappingJSON, &j.FieldMapping); err != nil {
			return j, fmt.Errorf("import job %s field_mapping: %w", j.ID, err)
		}
	}
	if j.ImportOptions, err = ParseOptions(optsJSON); err != nil {
		return j, fmt.Errorf("import job %s: %w", j.ID, err)
	}
	return j, nil
}

// GetDetails reads a job's details row.
func GetDetails(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Details, error) {
	var d Details
	err := tx.QueryRow(ctx, `SELECT coalesce(source_key, ''), manifest_key, error_report_key, chunk_count, failure_reason,
			rollback_events, rollback_done, rollback_conflicts, rollback_started_at, review, cancel_requested_at
		FROM import_job_details WHERE import_job_id = $1`, id).
		Scan(&d.SourceKey, &d.ManifestKey, &d.ErrorReportKey, &d.ChunkCount, &d.FailureReason,
			&d.RollbackEvents, &d.RollbackDone, &d.RollbackConflicts, &d.RollbackStartedAt, &d.Review, &d.CancelRequestedAt)
	if postgres.IsNotFound(err) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read import job %s details: %w", id, err)
	}
	return d, nil
}

// Prepared is what prepare found in the file.
type Prepared struct {
	TotalRows      int
	ManifestKey    string
	ErrorReportKey string
	ChunkCount     int
	FileType       string
}

// MarkPrepared records what prepare found and moves the job to processing.
// A job already processing (a retried prepare) is updated the same way; one
// in any other state is ErrWrongState.
func MarkPrepared(ctx context.Context, tx pgx.Tx, id uuid.UUID, p Prepared) error {
	tag, err := tx.Exec(ctx, `
		UPDATE import_jobs SET status = 'processing', total_rows = $2, file_type = $3,
			started_at = coalesce(started_at, now() AT TIME ZONE 'UTC'), processed_rows = coalesce(processed_rows, 0)
		WHERE id = $1 AND status = ANY($4::text[])`, id, p.TotalRows, p.FileType, from(OpPrepare))
	if err != nil {
		return fmt.Errorf("mark import job %s prepared: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return refused(ctx, tx, OpPrepare, id)
	}
	_, err = tx.Exec(ctx, `
		UPDATE import_job_details SET manifest_key = $2, error_report_key = $3, chunk_count = $4, updated_at = now()
		WHERE import_job_id = $1`, id, p.ManifestKey, nullIfEmpty(p.ErrorReportKey), p.ChunkCount)
	if err != nil {
		return fmt.Errorf("mark import job %s prepared: %w", id, err)
	}
	return nil
}

// maxReason bounds a stored failure reason: it is shown in every job view
// and list, which must stay far under Lambda's 6 MB response.
const maxReason = 2000

// MarkFailed records why a job failed. Rows already written stay (and stay
// rollbackable), and the job's counters become those of its committed
// chunks; a job that already completed, was cancelled or rolled back is
// left as it is and ErrWrongState returned. A job failed again keeps its
// first errors and reason.
func MarkFailed(ctx context.Context, tx pgx.Tx, id uuid.UUID, reason string) error {
	reason = textcut.Runes(reason, maxReason)
	errs, _ := json.Marshal([]map[string]any{{"row": 0, "message": reason}})
	tag, err := tx.Exec(ctx, `
		UPDATE import_jobs SET status = 'failed', completed_at = now() AT TIME ZONE 'UTC',
			errors = CASE WHEN coalesce(jsonb_array_length(errors), 0) = 0 THEN $2::jsonb ELSE errors END
		WHERE id = $1 AND status = ANY($3::text[])`, id, string(errs), from(OpFail))
	if err != nil {
		return fmt.Errorf("mark import job %s failed: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return refused(ctx, tx, OpFail, id)
	}
	_, err = tx.Exec(ctx, `UPDATE import_job_details SET failure_reason = coalesce(failure_reason, $2), updated_at = now() WHERE import_job_id = $1`, id, reason)
	if err != nil {
		return fmt.Errorf("mark import job %s failed: %w", id, err)
	}
	return countCommitted(ctx, tx, id)
}

// countCommitted makes the counters of a job that ends before its last
// chunk those of the chunks that committed: they stay, and can be rolled
// back, and the counters say how much they wrote and add up over the rows
// they processed.
func countCommitted(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	sums, err := SumChunks(ctx, tx, id)
	if err != nil {
		return err
	}
	return SetCounts(ctx, tx, id, sums)
}

// MarkCancelled ends a job that a person stopped: status cancelled, with
// the counters of the chunks that had committed and their first row
// errors. Called under Lock, after which no chunk of the job commits, so
// the counters are final.
func MarkCancelled(ctx context.Context, tx pgx.Tx, id uuid.UUID, firstErrors json.RawMessage) error {
	tag, err := tx.Exec(ctx, `
		UPDATE import_jobs SET status = 'cancelled', completed_at = now() AT TIME ZONE 'UTC', errors = $2
		WHERE id = $1 AND status = ANY($3::text[])`, id, string(firstErrors), from(OpCancel))
	if err != nil {
		return fmt.Errorf("mark import job %s cancelled: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return refused(ctx, tx, OpCancel, id)
	}
	return countCommitted(ctx, tx, id)
}

// ErrChunkRefused is ChunkMayCommit's answer for a job that was cancelled
// while the chunk ran: its transaction must roll back.
var ErrChunkRefused = errors.New("the import was cancelled while the chunk ran")

// ChunkMayCommit is a chunk's last statement before its commit. The chunk
// holds the job row's lock (RecordChunk's update of processed_rows), which
// a cancel takes before it commits: so either the cancel waits for this
// chunk's commit, or this statement runs after the cancel committed and
// sees it. It returns ErrChunkRefused for a job cancelled, and a wrong-state
// conflict for one no longer processing (failed or rolled back meanwhile).
func ChunkMayCommit(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	var status string
	var cancelled bool
	err := tx.QueryRow(ctx, `
		SELECT j.status, d.cancel_requested_at IS NOT NULL
		FROM import_jobs j JOIN import_job_details d ON d.import_job_id = j.id
		WHERE j.id = $1`, id).Scan(&status, &cancelled)
	if err != nil {
		return fmt.Errorf("check import job %s before a chunk commits: %w", id, err)
	}
	if cancelled {
		return ErrChunkRefused
	}
	if status != StatusProcessing {
		return WrongState("commit a chunk of", status)
	}
	return nil
}

// Reopen moves a prepared job that failed back to processing: an operator
// redrove its execution, so its remaining chunks and finalize may run. A
// cancelled job stays failed. It reports whether the job was reopened.
func Reopen(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE import_jobs SET status = 'processing', completed_at = NULL, errors = NULL
		WHERE id = $1 AND status = ANY($2::text[]) AND total_rows IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM import_job_details d WHERE d.import_job_id = $1 AND d.cancel_requested_at IS NOT NULL)`,
		id, from(OpReopen))
	if err != nil {
		return false, fmt.Errorf("reopen import job %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	_, err = tx.Exec(ctx, `UPDATE import_job_details SET failure_reason = NULL, updated_at = now() WHERE import_job_id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("reopen import job %s: %w", id, err)
	}
	return true, nil
}

// Listed is a job of a list, with the details a list shows.
type Listed struct {
	ImportJob
	Details Details
}

// ListImports returns up to limit jobs, newest first, optionally of one
// status, older than the job before (the cursor) when it is not Nil, each
// with its failure reason, review flag and cancel request.
func ListImports(ctx context.Context, tx pgx.Tx, status string, limit int, before uuid.UUID) ([]Listed, error) {
	rows, err := tx.Query(ctx, `SELECT `+importColumns+`, d.failure_reason, coalesce(d.review, false), d.cancel_requested_at
		FROM import_jobs LEFT JOIN LATERAL (
			SELECT failure_reason, review, cancel_requested_at FROM import_job_details WHERE import_job_id = import_jobs.id
		) d ON true
		WHERE ($1 = '' OR status = $1) AND ($2::uuid IS NULL OR id < $2::uuid)
		ORDER BY id DESC LIMIT $3`, status, nilIfZero(before), limit)
	if err != nil {
		return nil, fmt.Errorf("list import jobs: %w", err)
	}
	defer rows.Close()
	var out []Listed
	for rows.Next() {
		var l Listed
		if l.ImportJob, err = scanImport(rows, &l.Details.FailureReason, &l.Details.Review, &l.Details.CancelRequestedAt); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// refused is the error of op on a job the UPDATE did not match: not found,
// or in a status op does not move from.
func refused(ctx context.Context, tx pgx.Tx, op Op, id uuid.UUID) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM import_jobs WHERE id = $1`, id).Scan(&status)
	switch {
	case postgres.IsNotFound(err):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("%s import job %s: %w", op, id, err)
	}
	return WrongState(string(op), status)
}

func nilIfZero(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// Complete moves a processing job to completed with its final counters and
// first row errors, and returns it.
func Complete(ctx context.Context, tx pgx.Tx, id uuid.UUID, c ChunkSums, firstErrors json.RawMessage) (ImportJob, error) {
	j, err := scanImport(tx.QueryRow(ctx, `
		UPDATE import_jobs SET status = 'completed', completed_at = now() AT TIME ZONE 'UTC',
			created_count = $2, updated_count = $3, skipped_count = $4, error_count = $5,
			imported_count = $7, errors = $6
		WHERE id = $1 AND status = ANY($8::text[])
		RETURNING `+importColumns, id, c.Created, c.Updated, c.Skipped, c.Errors, string(firstErrors), c.Created+c.Updated,
		from(OpComplete)))
	if errors.Is(err, ErrNotFound) {
		return j, refused(ctx, tx, OpComplete, id)
	}
	return j, err
}
