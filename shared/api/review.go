package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// ReviewCallbacks hands a review back to the execution waiting on it
// (lambdafn.ReviewCallbacks: SendTaskSuccess, SendTaskFailure).
type ReviewCallbacks interface {
	Resume(ctx context.Context, token string) error
	Abort(ctx context.Context, token, cause string) error
}

// importPreview gives what Inspect found: what a person reviews.
func (s *Server) importPreview(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	var raw json.RawMessage
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		j, err := jobs.GetImport(r.Context(), tx, jobID)
		if err != nil {
			return err
		}
		d, err := jobs.GetDetails(r.Context(), tx, jobID)
		if err != nil {
			return err
		}
		if raw, err = jobs.Inspection(r.Context(), tx, jobID); err != nil {
			return err
		}
		switch {
		case len(raw) > 0:
			return nil
		case !d.Review:
			return apperr.New(apperr.Conflict, "this import was created without review; it has no preview")
		case j.Status == jobs.StatusPending:
			return apperr.New(apperr.Conflict, "the file is not inspected yet (the upload has not arrived, or is being read); ask again in a moment")
		}
		return apperr.New(apperr.Conflict, "this import is %s and was never inspected", j.Status)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, raw)
	return nil
}

// startImport stores the reviewed mapping and options and resumes the
// execution. The token goes back to Step Functions after the job is
// updated; if that fails, the job keeps the token and a repeated start
// sends it again.
func (s *Server) startImport(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	if s.Reviews == nil {
		return errNoReviews
	}
	var req importer.StartRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var token string
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		var err error
		token, err = importer.Start(r.Context(), tx, id.TenantID, jobID, req)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.Reviews.Resume(r.Context(), token); err != nil {
		return err
	}
	return s.afterCallback(w, r, id, jobID, token)
}

// afterCallback forgets a token Step Functions has taken and answers 202
// with the job.
func (s *Server) afterCallback(w http.ResponseWriter, r *http.Request, id Identity, jobID uuid.UUID, token string) error {
	var view JobView
	err := postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		if token != "" {
			if err := jobs.ClearTaskToken(r.Context(), tx, jobID, token); err != nil {
				return err
			}
		}
		var err error
		view, err = s.jobView(r.Context(), tx, jobID)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, view)
	return nil
}

// cancelImport stops an import at once: the job it answers is cancelled,
// with the counters of what had been saved.
func (s *Server) cancelImport(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	if s.Reviews == nil || s.Uploads == nil {
		return errNoReviews
	}
	c, err := importer.Cancel(r.Context(), s.DB, s.Uploads, id.TenantID, jobID)
	if err != nil {
		return err
	}
	if c.Token != "" {
		// The job is cancelled already; the waiting execution learns it now,
		// or, if this is lost, at the end of the review window.
		by := "the tenant"
		if id.UserID != nil {
			by = "user " + id.UserID.String()
		}
		if err := s.Reviews.Abort(r.Context(), c.Token, "cancelled by "+by); err != nil && !apperr.Is(err, apperr.Conflict) {
			s.log().WarnContext(r.Context(), "cancelled import: the waiting execution was not told", "job_id", jobID, "error", err)
		}
	}
	return s.afterCallback(w, r, id, jobID, "")
}

// jobView reads a job as getImport shows it.
func (s *Server) jobView(ctx context.Context, tx pgx.Tx, jobID uuid.UUID) (JobView, error) {
	j, err := jobs.GetImport(ctx, tx, jobID)
	if err != nil {
		return JobView{}, err
	}
	d, err := jobs.GetDetails(ctx, tx, jobID)
	if err != nil {
		return JobView{}, err
	}
	var first, dups json.RawMessage
	var sums jobs.ChunkSums
	var problems []jobs.Problem
	if j.TotalRows != nil {
		if sums, err = jobs.SumChunks(ctx, tx, jobID); err != nil {
			return JobView{}, err
		}
		if dups, err = jobs.FirstChunkDuplicates(ctx, tx, jobID, firstShown); err != nil {
			return JobView{}, err
		}
		if problems, err = jobs.Problems(ctx, tx, jobID, 10); err != nil {
			return JobView{}, err
		}
	}
	if j.Status == jobs.StatusProcessing {
		// Live counters: the chunks committed so far.
		j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount = sums.Created, sums.Updated, sums.Skipped, sums.Errors
		j.ImportedCount, j.ProcessedRows = sums.Created+sums.Updated, sums.Rows
		if first, err = jobs.FirstChunkErrors(ctx, tx, jobID, firstShown); err != nil {
			return JobView{}, err
		}
	}
	v := s.view(j, d, first)
	if j.TotalRows != nil {
		v.SkippedBy, v.Duplicates, v.ChunksApplied, v.Problems = &sums.SkippedBy, dups, sums.Chunks, problems
	}
	return v, nil
}

// firstShown is how many row errors and duplicates a job view lists; the
// error report has them all.
const firstShown = 20

var errNoReviews = errors.New("review callbacks are not configured")

// importForReal starts a finished dry run's import for real, with the same
// file, mapping and options (POST /v1/imports/{id}/import): 201 with the
// new job.
func (s *Server) importForReal(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	if s.Uploads == nil {
		return errNoReviews
	}
	job, err := importer.ImportForReal(r.Context(), s.DB, s.Uploads, s.UploadsBucket, id.TenantID, jobID, id.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.view(job, jobs.Details{}, nil))
	return nil
}
