package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/exporter"
	"github.com/portagehq/portage/shared/filters"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// ExportStarter starts an export worker (lambdafn.ExportStarter).
type ExportStarter interface {
	Start(ctx context.Context, tenantID, exportID uuid.UUID) error
}

// ExportView is an export as the API shows it.
type ExportView struct {
	jobs.ExportJob
	Percent       float64    `json:"percent"`
	SegmentID     *uuid.UUID `json:"segment_id,omitempty"`
	FormulaSafe   *bool      `json:"formula_safe,omitempty"`
	FailureReason *string    `json:"failure_reason,omitempty"`
	// DownloadURL is minted at each read while the file is available.
	DownloadURL    string     `json:"download_url,omitempty"`
	DownloadExpiry *time.Time `json:"download_url_expires_at,omitempty"`
}

// exportView shows an export. Its file_url (the bucket's own address) is
// never shown: callers get a download URL. d is nil where the details were
// not read (lists), and the fields from them are left out.
func exportView(j jobs.ExportJob, d *jobs.ExportDetails) ExportView {
	v := ExportView{ExportJob: j}
	v.FileURL = nil
	if d != nil {
		v.SegmentID, v.FormulaSafe, v.FailureReason = d.SegmentID, &d.FormulaSafe, d.FailureReason
	}
	if j.TotalContacts != nil {
		v.Percent = percent(j.ProcessedContacts, *j.TotalContacts)
	}
	if j.Status == jobs.StatusCompleted {
		v.Percent = 100
	}
	return v
}

func (s *Server) createExport(w http.ResponseWriter, r *http.Request, id Identity) error {
	var req exporter.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := req.Check(); err != nil {
		return err
	}
	if s.Exports == nil {
		return errors.New("exports are not configured")
	}
	var view ExportView
	err := postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		if err := checkUser(r.Context(), tx, id); err != nil {
			return err
		}
		j, d, err := exporter.Create(r.Context(), tx, req, id.TenantID, id.UserID)
		view = exportView(j, &d)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.Exports.Start(r.Context(), id.TenantID, view.ID); err != nil {
		return fmt.Errorf("start export %s: %w", view.ID, err)
	}
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, id Identity) error {
	exportID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such export")
	}
	var view ExportView
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		j, err := jobs.GetExport(r.Context(), tx, exportID)
		if err != nil {
			return err
		}
		d, err := jobs.GetExportDetails(r.Context(), tx, exportID)
		view = exportView(j, &d)
		return err
	})
	if err != nil {
		return err
	}
	// Expiry is the application's to enforce: the lifecycle rule is lazy.
	if view.ExpiresAt != nil && !s.now().Before(*view.ExpiresAt) {
		return apperr.New(apperr.Gone, "%s", fmt.Sprintf("this export expired at %s; create a new one", view.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	if view.Status == jobs.StatusCompleted {
		key := exporter.ObjectKey(view.TenantID, view.ID, view.FileFormat)
		disposition := fmt.Sprintf(`attachment; filename="contacts-%s.%s"`, view.ID, view.FileFormat)
		req, err := s.Presign.PresignGetObject(r.Context(), &s3.GetObjectInput{Bucket: &s.ExportsBucket, Key: &key,
			ResponseContentDisposition: &disposition}, s3.WithPresignExpires(downloadURLLife))
		if err != nil {
			return fmt.Errorf("presign export: %w", err)
		}
		exp := s.now().Add(downloadURLLife).UTC()
		view.DownloadURL, view.DownloadExpiry = req.URL, &exp
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request, id Identity) error {
	limit, before, err := paging(r)
	if err != nil {
		return err
	}
	var list []jobs.ExportJob
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		var err error
		list, err = jobs.ListExports(r.Context(), tx, limit+1, before)
		return err
	})
	if err != nil {
		return err
	}
	out := struct {
		Exports    []ExportView `json:"exports"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Exports: []ExportView{}}
	if len(list) > limit {
		list = list[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString(list[limit-1].ID[:])
	}
	for _, j := range list {
		out.Exports = append(out.Exports, exportView(j, nil))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// paging reads ?limit= (1–100, default 20) and ?cursor=.
func paging(r *http.Request) (int, uuid.UUID, error) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, uuid.Nil, badRequest("limit must be 1 to 100")
		}
		limit = n
	}
	var before uuid.UUID
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			before, err = uuid.FromBytes(b)
		}
		if err != nil {
			return 0, uuid.Nil, badRequest("invalid cursor")
		}
	}
	return limit, before, nil
}

type createSegmentRequest struct {
	Name    string          `json:"name"`
	Filters json.RawMessage `json:"filters"`
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request, id Identity) error {
	var req createSegmentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var seg filters.Segment
	err := postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		if err := checkUser(r.Context(), tx, id); err != nil {
			return err
		}
		var err error
		seg, err = filters.CreateSegment(r.Context(), tx, id.TenantID, id.UserID, req.Name, req.Filters)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, seg)
	return nil
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request, id Identity) error {
	var list []filters.Segment
	err := postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		var err error
		list, err = filters.ListSegments(r.Context(), tx)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": list})
	return nil
}
