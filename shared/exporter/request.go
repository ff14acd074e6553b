package exporter

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/filters"
	"github.com/portagehq/portage/shared/jobs"
)

// Export types and file formats.
const (
	TypeFull     = "full"
	TypeFiltered = "filtered"
	TypeSegment  = "segment"
)

// CreateRequest is what a client asks for to create an export (POST /v1/exports's
// body).
type CreateRequest struct {
	ExportType     string          `json:"export_type"`
	Filters        json.RawMessage `json:"filters"`
	SegmentID      *uuid.UUID      `json:"segment_id"`
	SelectedFields []string        `json:"selected_fields"`
	FileFormat     string          `json:"file_format"`
	// FormulaSafe false writes csv values unchanged (for migrations between
	// systems); by default values a spreadsheet would run are neutralized.
	FormulaSafe *bool `json:"formula_safe"`
}

// Check applies the rules of a new export: a known format and type, filters
// only (and valid) for a filtered export, a segment only for a segment
// export, known fields. It fills the default type; each refusal is an
// apperr.Invalid error naming what to fix.
func (r *CreateRequest) Check() error {
	switch r.FileFormat {
	case "csv", "xlsx", "json":
	default:
		return apperr.Invalidf("file_format %q: use csv, xlsx or json", r.FileFormat)
	}
	switch r.ExportType {
	case "", TypeFull:
		r.ExportType = TypeFull
		if len(r.Filters) > 0 && string(r.Filters) != "null" && string(r.Filters) != "{}" {
			return apperr.Invalidf("a full export takes no filters; use export_type filtered")
		}
	case TypeFiltered:
		if _, err := filters.Parse(r.Filters); err != nil {
			return err
		}
	case TypeSegment:
		if r.SegmentID == nil {
			return apperr.Invalidf("a segment export needs segment_id")
		}
	default:
		return apperr.Invalidf("export_type %q: use full, filtered or segment", r.ExportType)
	}
	if r.ExportType != TypeSegment && r.SegmentID != nil {
		return apperr.Invalidf("segment_id is only for export_type segment")
	}
	return CheckFields(r.SelectedFields)
}

// Create records a checked export as pending, created by createdBy, and
// returns it with its details. Its segment must exist.
func Create(ctx context.Context, tx pgx.Tx, r CreateRequest, tenantID uuid.UUID, createdBy *uuid.UUID) (jobs.ExportJob, jobs.ExportDetails, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return jobs.ExportJob{}, jobs.ExportDetails{}, err
	}
	if r.SegmentID != nil {
		if _, err := filters.GetSegment(ctx, tx, *r.SegmentID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return jobs.ExportJob{}, jobs.ExportDetails{}, apperr.Invalidf("segment %s does not exist", *r.SegmentID)
			}
			return jobs.ExportJob{}, jobs.ExportDetails{}, err
		}
	}
	filt := r.Filters
	if r.ExportType != TypeFiltered {
		filt = nil
	}
	if err := jobs.CreateExport(ctx, tx, jobs.NewExport{ID: id, TenantID: tenantID, CreatedBy: createdBy,
		ExportType: r.ExportType, Filters: filt, SegmentID: r.SegmentID, SelectedFields: r.SelectedFields,
		FileFormat: r.FileFormat, FormulaSafe: r.FormulaSafe == nil || *r.FormulaSafe}); err != nil {
		return jobs.ExportJob{}, jobs.ExportDetails{}, err
	}
	j, err := jobs.GetExport(ctx, tx, id)
	if err != nil {
		return j, jobs.ExportDetails{}, err
	}
	d, err := jobs.GetExportDetails(ctx, tx, id)
	return j, d, err
}
