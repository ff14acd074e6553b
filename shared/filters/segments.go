package filters

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

// Segment is a stored filter.
type Segment struct {
	ID        uuid.UUID       `json:"id"`
	TenantID  uuid.UUID       `json:"tenant_id"`
	Name      string          `json:"name"`
	Filters   json.RawMessage `json:"filters"`
	CreatedBy *uuid.UUID      `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
}

// ErrSegmentNotFound means no segment with that id is visible to the tenant.
var ErrSegmentNotFound = &apperr.Error{Code: apperr.NotFound, Message: "no such segment"}

// CreateSegment validates the filter and stores it.
func CreateSegment(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, createdBy *uuid.UUID, name string, raw json.RawMessage) (Segment, error) {
	if name == "" || len(name) > 200 {
		return Segment{}, apperr.Invalidf("a segment needs a name (at most 200 characters)")
	}
	if _, err := Parse(raw); err != nil {
		return Segment{}, err
	}
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Segment{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO segments (id, tenant_id, name, filters, created_by) VALUES ($1, $2, $3, $4, $5)`,
		id, tenant, name, string(raw), createdBy); err != nil {
		return Segment{}, fmt.Errorf("create segment: %w", err)
	}
	return GetSegment(ctx, tx, id)
}

// GetSegment reads a segment.
func GetSegment(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Segment, error) {
	var s Segment
	err := tx.QueryRow(ctx, `SELECT id, tenant_id, name, filters, created_by, created_at FROM segments WHERE id = $1`, id).
		Scan(&s.ID, &s.TenantID, &s.Name, &s.Filters, &s.CreatedBy, &s.CreatedAt)
	if postgres.IsNotFound(err) {
		return s, ErrSegmentNotFound
	}
	return s, err
}

// ListSegments returns the tenant's segments, newest first.
func ListSegments(ctx context.Context, tx pgx.Tx) ([]Segment, error) {
	rows, err := tx.Query(ctx, `SELECT id, tenant_id, name, filters, created_by, created_at FROM segments ORDER BY id DESC LIMIT 1000`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Segment{}
	for rows.Next() {
		var s Segment
		if err := rows.Scan(&s.ID, &s.TenantID, &s.Name, &s.Filters, &s.CreatedBy, &s.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
