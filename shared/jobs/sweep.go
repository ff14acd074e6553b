package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The statements in this file see every tenant: they run as the sweeper's
// role (portage_sweeper), which row-level security lets read the open
// jobs and the expired exports of all tenants, and nothing else.

// OpenImport is a job that is pending or processing.
type OpenImport struct {
	ID, TenantID uuid.UUID
	Status       string
	CreatedAt    time.Time
	StartedAt    *time.Time
}

// OpenImports returns up to limit pending, awaiting_review or processing
// jobs of any tenant, oldest first, after the job after (nil: from the
// first): a caller pages through them all.
func OpenImports(ctx context.Context, tx pgx.Tx, after *OpenImport, limit int) ([]OpenImport, error) {
	var afterAt time.Time
	afterID := uuid.Nil
	if after != nil {
		afterAt, afterID = after.CreatedAt, after.ID
	}
	rows, err := tx.Query(ctx, `SELECT id, tenant_id, status, created_at, started_at FROM import_jobs
		WHERE status IN ('pending', 'awaiting_review', 'processing') AND (created_at, id) > ($1, $2)
		ORDER BY created_at, id LIMIT $3`, afterAt, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("find open imports: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenImport, error) {
		var j OpenImport
		err := r.Scan(&j.ID, &j.TenantID, &j.Status, &j.CreatedAt, &j.StartedAt)
		return j, err
	})
}

// ExportRef names an export and its tenant.
type ExportRef struct {
	ID, TenantID uuid.UUID
}

// OpenExportsBefore returns up to limit pending or processing exports of any
// tenant created before t, oldest first.
func OpenExportsBefore(ctx context.Context, tx pgx.Tx, t time.Time, limit int) ([]ExportRef, error) {
	rows, err := tx.Query(ctx, `SELECT id, tenant_id FROM export_jobs
		WHERE status IN ('pending', 'processing') AND created_at < $1 ORDER BY created_at LIMIT $2`, t, limit)
	if err != nil {
		return nil, fmt.Errorf("find stranded exports: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExportRef, error) {
		var e ExportRef
		err := r.Scan(&e.ID, &e.TenantID)
		return e, err
	})
}

// ExpiredExport is a completed export past its expires_at, and its file.
type ExpiredExport struct {
	ID        uuid.UUID
	ObjectKey *string
}

// LockExpiredExports returns up to limit completed exports of any tenant
// whose expires_at has passed, locked (those another sweeper holds are
// skipped).
func LockExpiredExports(ctx context.Context, tx pgx.Tx, limit int) ([]ExpiredExport, error) {
	rows, err := tx.Query(ctx, `
		SELECT j.id, d.object_key FROM export_jobs j
		LEFT JOIN export_job_details d ON d.export_job_id = j.id
		WHERE j.status = 'completed' AND j.expires_at < now() AT TIME ZONE 'UTC'
		ORDER BY j.expires_at LIMIT $1 FOR UPDATE OF j SKIP LOCKED`, limit)
	if err != nil {
		return nil, fmt.Errorf("find expired exports: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExpiredExport, error) {
		var e ExpiredExport
		err := r.Scan(&e.ID, &e.ObjectKey)
		return e, err
	})
}

// MarkExpired marks exports expired and returns how many it marked.
func MarkExpired(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (int, error) {
	texts := make([]string, len(ids)) // uuids as text: exec mode sends text
	for i, id := range ids {
		texts[i] = id.String()
	}
	tag, err := tx.Exec(ctx, `UPDATE export_jobs SET status = 'expired' WHERE id = ANY($1::uuid[])`, texts)
	if err != nil {
		return 0, fmt.Errorf("mark exports expired: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// StalledRollback is a rollback whose last batch committed before a time.
type StalledRollback struct {
	ID, TenantID uuid.UUID
}

// StalledRollbacks returns up to limit jobs of any tenant still rolling
// back whose rollback last moved (its last batch, or its start) before t,
// oldest first, after the job after (nil: from the first).
func StalledRollbacks(ctx context.Context, tx pgx.Tx, t time.Time, after uuid.UUID, limit int) ([]StalledRollback, error) {
	rows, err := tx.Query(ctx, `SELECT j.id, j.tenant_id FROM import_jobs j
		JOIN import_job_details d ON d.import_job_id = j.id
		WHERE j.status = 'rolling_back' AND d.updated_at < $1 AND j.id > $2
		ORDER BY j.id LIMIT $3`, t, after, limit)
	if err != nil {
		return nil, fmt.Errorf("find stalled rollbacks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StalledRollback, error) {
		var s StalledRollback
		err := r.Scan(&s.ID, &s.TenantID)
		return s, err
	})
}
