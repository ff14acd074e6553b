package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/postgres"
)

// AwaitReview records a job's inspection and the callback token of the
// execution waiting on it, and moves the job to awaiting_review. Run again
// (a retried Inspect), it replaces both: only the newest token resumes the
// execution.
func AwaitReview(ctx context.Context, tx pgx.Tx, id uuid.UUID, token string, inspection json.RawMessage) error {
	tag, err := tx.Exec(ctx, `UPDATE import_jobs SET status = 'awaiting_review' WHERE id = $1 AND status = ANY($2::text[])`,
		id, from(OpAwaitReview))
	if err != nil {
		return fmt.Errorf("mark import job %s awaiting review: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return refused(ctx, tx, OpAwaitReview, id)
	}
	_, err = tx.Exec(ctx, `UPDATE import_job_details SET task_token = $2, inspection = $3::jsonb, updated_at = now()
		WHERE import_job_id = $1`, id, token, string(inspection))
	if err != nil {
		return fmt.Errorf("record the inspection of import job %s: %w", id, err)
	}
	return nil
}

// Inspection returns what Inspect found in a job's file, or nil before it
// ran.
func Inspection(ctx context.Context, tx pgx.Tx, id uuid.UUID) (json.RawMessage, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT inspection FROM import_job_details WHERE import_job_id = $1`, id).Scan(&raw)
	if postgres.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read the inspection of import job %s: %w", id, err)
	}
	return raw, nil
}

// StartReviewed stores the mapping and options a person confirmed (the
// workspace checked as CreateImport checks it) and moves the job from awaiting_review back to pending, for prepare. It
// returns the callback token that resumes the execution; the caller sends
// it after this transaction commits, and clears it (ClearTaskToken) once
// Step Functions took it.
func StartReviewed(ctx context.Context, tx pgx.Tx, id uuid.UUID, fieldMapping map[string]string, opts Options) (string, error) {
	if err := checkWorkspace(ctx, tx, opts.WorkspaceID); err != nil {
		return "", err
	}
	mappingJSON, err := json.Marshal(fieldMapping)
	if err != nil {
		return "", err
	}
	optsJSON, err := json.Marshal(opts)
	if err != nil {
		return "", err
	}
	tag, err := tx.Exec(ctx, `UPDATE import_jobs SET status = 'pending', field_mapping = $2::jsonb, import_options = $3::jsonb,
			workspace_id = $4, can_rollback = NOT $5
		WHERE id = $1 AND status = ANY($6::text[])`,
		id, string(mappingJSON), string(optsJSON), opts.WorkspaceID, opts.DryRun, from(OpStart))
	if err != nil {
		return "", fmt.Errorf("start import job %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return "", refused(ctx, tx, OpStart, id)
	}
	return TaskToken(ctx, tx, id)
}

// TaskToken returns the callback token a job's execution waits on, "" when
// none is waiting.
func TaskToken(ctx context.Context, tx pgx.Tx, id uuid.UUID) (string, error) {
	var token *string
	err := tx.QueryRow(ctx, `SELECT task_token FROM import_job_details WHERE import_job_id = $1`, id).Scan(&token)
	if postgres.IsNotFound(err) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read the task token of import job %s: %w", id, err)
	}
	if token == nil {
		return "", nil
	}
	return *token, nil
}

// ClearTaskToken forgets a token Step Functions has taken back (or closed).
func ClearTaskToken(ctx context.Context, tx pgx.Tx, id uuid.UUID, token string) error {
	_, err := tx.Exec(ctx, `UPDATE import_job_details SET task_token = NULL, updated_at = now()
		WHERE import_job_id = $1 AND task_token = $2`, id, token)
	if err != nil {
		return fmt.Errorf("clear the task token of import job %s: %w", id, err)
	}
	return nil
}

// RequestCancel marks a job cancelled: chunks that have not started skip,
// a redrive does not reopen it, and finalize ends it failed. The first
// request's time is kept.
func RequestCancel(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE import_job_details SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
		WHERE import_job_id = $1`, id)
	if err != nil {
		return fmt.Errorf("cancel import job %s: %w", id, err)
	}
	return nil
}

// HeaderKey names a set of column headers for the mapping memory: the same
// headers in any order, case or surrounding space give the same key.
func HeaderKey(header []string) string {
	norm := make([]string, len(header))
	for i, h := range header {
		norm[i] = strings.ToLower(strings.TrimSpace(h))
	}
	slices.Sort(norm)
	sum := sha256.Sum256([]byte(strings.Join(norm, "\x00")))
	return hex.EncodeToString(sum[:])
}

// RememberMapping keeps the mapping a tenant confirmed for a file's header
// (column → field, "" for a column left alone).
func RememberMapping(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, header []string, fieldMapping map[string]string) error {
	h, _ := json.Marshal(header)
	m, err := json.Marshal(fieldMapping)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO import_mappings (tenant_id, header_key, header, field_mapping) VALUES ($1, $2, $3::jsonb, $4::jsonb)
		ON CONFLICT (tenant_id, header_key) DO UPDATE SET header = excluded.header, field_mapping = excluded.field_mapping, updated_at = now()`,
		tenantID, HeaderKey(header), string(h), string(m))
	if err != nil {
		return fmt.Errorf("remember the mapping: %w", err)
	}
	return nil
}

// RecallMapping returns the mapping the tenant last confirmed for this set
// of headers, keyed by the headers as this file spells them, or nil.
func RecallMapping(ctx context.Context, tx pgx.Tx, header []string) (map[string]string, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT field_mapping FROM import_mappings WHERE header_key = $1`, HeaderKey(header)).Scan(&raw)
	if postgres.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recall the mapping: %w", err)
	}
	var saved map[string]string
	if err := json.Unmarshal(raw, &saved); err != nil {
		return nil, fmt.Errorf("recall the mapping: %w", err)
	}
	byNorm := make(map[string]string, len(saved))
	for col, field := range saved {
		byNorm[strings.ToLower(strings.TrimSpace(col))] = field
	}
	out := make(map[string]string, len(header))
	for _, col := range header {
		if field, ok := byNorm[strings.ToLower(strings.TrimSpace(col))]; ok {
			out[col] = field
		}
	}
	return out, nil
}
