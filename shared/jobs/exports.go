package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/postgres"
)

// Export statuses beyond the import ones.
const (
	// StatusExpired: the file is gone (7 days after completion).
	StatusExpired = "expired"
)

// ErrExportNotFound means no export with that id is visible to the tenant.
var ErrExportNotFound = &apperr.Error{Code: apperr.NotFound, Message: "no such export"}

// ExportLife is how long an export's file can be downloaded.
const ExportLife = 7 * 24 * time.Hour

// ExportJob is an export_jobs row; JSON names are the seed's column names.
type ExportJob struct {
	ID                uuid.UUID       `json:"id"`
	TenantID          uuid.UUID       `json:"tenant_id"`
	ExportType        string          `json:"export_type"`
	Filters           json.RawMessage `json:"filters"`
	SelectedFields    []string        `json:"selected_fields"`
	FileFormat        string          `json:"file_format"`
	FileURL           *string         `json:"file_url"`
	FileSize          *int64          `json:"file_size"`
	Status            string          `json:"status"`
	TotalContacts     *int            `json:"total_contacts"`
	ProcessedContacts int             `json:"processed_contacts"`
	StartedAt         *time.Time      `json:"started_at"`
	CompletedAt       *time.Time      `json:"completed_at"`
	ExpiresAt         *time.Time      `json:"expires_at"`
	CreatedBy         *uuid.UUID      `json:"created_by"`
	CreatedAt         time.Time       `json:"created_at"`
}

// ExportDetails is the export_job_details row.
type ExportDetails struct {
	SegmentID     *uuid.UUID
	ObjectKey     *string
	FormulaSafe   bool
	FailureReason *string
}

// NewExport describes an export to create.
type NewExport struct {
	ID             uuid.UUID
	TenantID       uuid.UUID
	CreatedBy      *uuid.UUID
	ExportType     string
	Filters        json.RawMessage
	SegmentID      *uuid.UUID
	SelectedFields []string
	FileFormat     string
	FormulaSafe    bool
}

// CreateExport inserts a pending export and its details.
func CreateExport(ctx context.Context, tx pgx.Tx, n NewExport) error {
	fields, _ := json.Marshal(n.SelectedFields)
	var filters *string
	if len(n.Filters) > 0 {
		s := string(n.Filters)
		filters = &s
	}
	if _, err := tx.Exec(ctx, `INSERT INTO export_jobs (id, tenant_id, export_type, filters, selected_fields, file_format,
		status, created_by) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)`,
		n.ID, n.TenantID, n.ExportType, filters, string(fields), n.FileFormat, n.CreatedBy); err != nil {
		return fmt.Errorf("create export %s: %w", n.ID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO export_job_details (export_job_id, tenant_id, segment_id, formula_safe)
		VALUES ($1, $2, $3, $4)`, n.ID, n.TenantID, n.SegmentID, n.FormulaSafe); err != nil {
		return fmt.Errorf("create export %s details: %w", n.ID, err)
	}
	return nil
}

const exportColumns = `id, tenant_id, coalesce(export_type, ''), filters, selected_fields, coalesce(file_format, ''),
	file_url, file_size, coalesce(status, ''), total_contacts, coalesce(processed_contacts, 0), started_at,
	completed_at, expires_at, created_by, created_at`

func scanExport(row pgx.Row) (ExportJob, error) {
	var j ExportJob
	var fields []byte
	err := row.Scan(&j.ID, &j.TenantID, &j.ExportType, &j.Filters, &fields, &j.FileFormat, &j.FileURL, &j.FileSize,
		&j.Status, &j.TotalContacts, &j.ProcessedContacts, &j.StartedAt, &j.CompletedAt, &j.ExpiresAt, &j.CreatedBy, &j.CreatedAt)
	if postgres.IsNotFound(err) {
		return j, ErrExportNotFound
	}
	if err != nil {
		return j, fmt.Errorf("read export job: %w", err)
	}
	if len(fields) > 0 {
		json.Unmarshal(fields, &j.SelectedFields)
	}
	return j, nil
}

// GetExport reads an export, or returns ErrNotFound.
func GetExport(ctx context.Context, tx pgx.Tx, id uuid.UUID) (ExportJob, error) {
	return scanExport(tx.QueryRow(ctx, `SELECT `+exportColumns+` FROM export_jobs WHERE id = $1`, id))
}

// GetExportDetails reads an export's details.
func GetExportDetails(ctx context.Context, tx pgx.Tx, id uuid.UUID) (ExportDetails, error) {
	var d ExportDetails
	err := tx.QueryRow(ctx, `SELECT segment_id, object_key, formula_safe, failure_reason FROM export_job_details
		WHERE export_job_id = $1`, id).Scan(&d.SegmentID, &d.ObjectKey, &d.FormulaSafe, &d.FailureReason)
	if postgres.IsNotFound(err) {
		return d, ErrExportNotFound
	}
	return d, err
}

// ListExports returns up to limit exports, newest first, older than before.
func ListExports(ctx context.Context, tx pgx.Tx, limit int, before uuid.UUID) ([]ExportJob, error) {
	rows, err := tx.Query(ctx, `SELECT `+exportColumns+` FROM export_jobs
		WHERE ($1::uuid IS NULL OR id < $1::uuid) ORDER BY id DESC LIMIT $2`, nilIfZero(before), limit)
	if err != nil {
		return nil, fmt.Errorf("list exports: %w", err)
	}
	defer rows.Close()
	var out []ExportJob
	for rows.Next() {
		j, err := scanExport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// StartExport moves a pending (or retried processing) export to processing
// with its total, or none (nil) when it is only known at the end.
func StartExport(ctx context.Context, tx pgx.Tx, id uuid.UUID, total *int) error {
	tag, err := tx.Exec(ctx, `UPDATE export_jobs SET status = 'processing', total_contacts = $2, processed_contacts = 0,
		started_at = coalesce(started_at, now() AT TIME ZONE 'UTC') WHERE id = $1 AND status IN ('pending', 'processing')`, id, total)
	if err != nil {
		return fmt.Errorf("start export %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return &apperr.Error{Code: apperr.Conflict, Message: "the export has already ended", Err: ErrWrongState}
	}
	return nil
}

// ExportProgress records how many contacts have been written, and the
// total when it is given (nil leaves it).
func ExportProgress(ctx context.Context, tx pgx.Tx, id uuid.UUID, processed int, total *int) error {
	_, err := tx.Exec(ctx, `UPDATE export_jobs SET processed_contacts = $2, total_contacts = coalesce($3, total_contacts) WHERE id = $1`,
		id, processed, total)
	return err
}

// CompleteExport records the file: completed now, expiring ExportLife later.
func CompleteExport(ctx context.Context, tx pgx.Tx, id uuid.UUID, fileURL, key string, size int64, processed int) error {
	if _, err := tx.Exec(ctx, `UPDATE export_jobs SET status = 'completed', file_url = $2, file_size = $3,
		processed_contacts = $4, total_contacts = coalesce(total_contacts, $4), completed_at = now() AT TIME ZONE 'UTC',
		expires_at = (now() AT TIME ZONE 'UTC') + $5::interval WHERE id = $1`,
		id, fileURL, size, processed, fmt.Sprintf("%d seconds", int(ExportLife.Seconds()))); err != nil {
		return fmt.Errorf("complete export %s: %w", id, err)
	}
	_, err := tx.Exec(ctx, `UPDATE export_job_details SET object_key = $2, updated_at = now() WHERE export_job_id = $1`, id, key)
	return err
}

// FailExport records why a pending or processing export failed, and
// reports whether it did (an export that ended meanwhile is left alone).
func FailExport(ctx context.Context, tx pgx.Tx, id uuid.UUID, reason string) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE export_jobs SET status = 'failed', completed_at = now() AT TIME ZONE 'UTC'
		WHERE id = $1 AND status IN ('pending', 'processing')`, id)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE export_job_details SET failure_reason = $2, updated_at = now() WHERE export_job_id = $1`,
		id, reason); err != nil {
		return false, fmt.Errorf("fail export %s: %w", id, err)
	}
	return true, nil
}
