package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/rollback"
)

// Presigner mints presigned S3 requests (s3.PresignClient).
type Presigner interface {
	PresignPutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// RollbackStarter starts or resumes a job's rollback (lambdafn.RollbackStarter).
type RollbackStarter interface {
	Start(ctx context.Context, tenantID, jobID uuid.UUID) error
}

// Server is the API. Build it once per Lambda container.
type Server struct {
	DB            postgres.Beginner
	UploadsBucket string
	Presign       Presigner
	// Rollbacks runs rollbacks (the rollback state machine).
	Rollbacks RollbackStarter
	// Exports starts export workers; ExportsBucket holds their files.
	Exports       ExportStarter
	ExportsBucket string
	// Reviews resumes or cancels imports waiting for review; Uploads is
	// the uploads bucket, where a cancelled import's file is deleted.
	Reviews ReviewCallbacks
	Uploads objstore.Store
	// MaxFileBytes refuses larger uploads up front (default readers.DefaultLimits).
	MaxFileBytes int64
	Log          *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/imports", s.wrap(s.createImport))
	mux.HandleFunc("GET /v1/imports", s.wrap(s.listImports))
	mux.HandleFunc("GET /v1/imports/{id}", s.wrap(s.getImport))
	mux.HandleFunc("GET /v1/imports/{id}/errors", s.wrap(s.importErrors))
	mux.HandleFunc("POST /v1/imports/{id}/rollback", s.wrap(s.rollbackImport))
	mux.HandleFunc("GET /v1/imports/{id}/preview", s.wrap(s.importPreview))
	mux.HandleFunc("POST /v1/imports/{id}/start", s.wrap(s.startImport))
	mux.HandleFunc("POST /v1/imports/{id}/cancel", s.wrap(s.cancelImport))
	mux.HandleFunc("GET /v1/fields", s.wrap(s.listFields))
	mux.HandleFunc("POST /v1/imports/{id}/import", s.wrap(s.importForReal))
	mux.HandleFunc("POST /v1/exports", s.wrap(s.createExport))
	mux.HandleFunc("GET /v1/exports", s.wrap(s.listExports))
	mux.HandleFunc("GET /v1/exports/{id}", s.wrap(s.getExport))
	mux.HandleFunc("POST /v1/segments", s.wrap(s.createSegment))
	mux.HandleFunc("GET /v1/segments", s.wrap(s.listSegments))
	mux.HandleFunc("/", s.wrap(func(w http.ResponseWriter, r *http.Request, _ Identity) error {
		return notFound(fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	}))
	return mux
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, id Identity) error

func (s *Server) wrap(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := identity(r)
		if err == nil {
			err = h(w, r, id)
		}
		if err != nil {
			writeError(w, r, s.log(), err)
		}
	}
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Upload tells the browser how to send the file.
type Upload struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

const uploadURLLife = 15 * time.Minute

func (s *Server) createImport(w http.ResponseWriter, r *http.Request, id Identity) error {
	var req importer.Request
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	imp, err := req.Check(id.TenantID, s.MaxFileBytes)
	if err != nil {
		return err
	}
	// If-None-Match: * makes the URL single-use: once the file is there, a
	// second PUT (S3 conditional writes) is refused with 412, so the source
	// of a job that ran, or is being redriven, cannot be replaced.
	presigned, err := s.Presign.PresignPutObject(r.Context(), &s3.PutObjectInput{
		Bucket: &s.UploadsBucket, Key: &imp.Key, ContentLength: &imp.FileSize, ContentType: &imp.ContentType,
		IfNoneMatch: ptr("*"),
	}, s3.WithPresignExpires(uploadURLLife))
	if err != nil {
		return fmt.Errorf("presign upload: %w", err)
	}
	var job jobs.ImportJob
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		if err := checkUser(r.Context(), tx, id); err != nil {
			return err
		}
		var err error
		job, err = importer.Create(r.Context(), tx, imp, id.UserID, s.UploadsBucket)
		return err
	})
	if err != nil {
		return err
	}
	headers := map[string]string{}
	for k, v := range presigned.SignedHeader {
		if !strings.EqualFold(k, "host") && len(v) > 0 {
			headers[k] = v[0]
		}
	}
	view := s.view(job, jobs.Details{}, nil)
	view.Upload = &Upload{Method: presigned.Method, URL: presigned.URL, Headers: headers, ExpiresAt: s.now().Add(uploadURLLife).UTC()}
	writeJSON(w, http.StatusCreated, view)
	return nil
}

// JobView is a job as the API shows it: the seed's columns plus progress.
type JobView struct {
	jobs.ImportJob
	Percent       float64 `json:"percent"`
	RowsPerSecond float64 `json:"rows_per_second"`
	// TimeLeftSeconds is the rows left at the rate so far (absent until
	// there is a rate, or when the job has ended).
	TimeLeftSeconds *float64 `json:"time_left_seconds,omitempty"`
	// DryRun: nothing was or will be written (import_options.dry_run).
	DryRun bool `json:"dry_run"`
	// Review: the import waits for a person after its file is inspected.
	Review bool `json:"review"`
	// Undoable: a rollback may start now and has rows to take back (what
	// the page offers as Undo; the rules stay here, not in the page).
	Undoable bool `json:"undoable"`
	// ChunkCount is the number of chunks the file was cut into, and
	// ChunksApplied how many of them have committed (once prepared): for a
	// cancelled import, what was saved ("3 of 40 chunks had been saved").
	ChunkCount    int `json:"chunk_count,omitempty"`
	ChunksApplied int `json:"chunks_applied"`
	// SkippedBy says why rows were skipped (its sum is skipped_count), and
	// Duplicates lists the first rows skipped as repeats of an earlier row
	// ({row, duplicate_of}); both once the file is prepared.
	SkippedBy *jobs.Skips `json:"skipped_by,omitempty"`
	// Problems are the row errors by kind, the most frequent first (at
	// most 10), counted over every row of the chunks applied so far.
	Problems      []jobs.Problem  `json:"problems,omitempty"`
	Duplicates    json.RawMessage `json:"duplicates,omitempty"`
	FailureReason *string         `json:"failure_reason,omitempty"`
	ErrorReport   string          `json:"error_report,omitempty"`
	Rollback      *RollbackView   `json:"rollback,omitempty"`
	Upload        *Upload         `json:"upload,omitempty"`
}

// RollbackView is a rollback's progress and the contacts it left alone.
type RollbackView struct {
	Events       int                 `json:"events"`
	Done         int                 `json:"done"`
	Percent      float64             `json:"percent"`
	Conflicts    int                 `json:"conflicts"`
	StartedAt    *time.Time          `json:"started_at"`
	ConflictList []rollback.Conflict `json:"conflict_list"`
}

// percent is done/total as a percentage with one decimal, rounded down (0
// for an unknown or empty total).
func percent(done, total int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(done*1000/total) / 10
}

func (s *Server) view(j jobs.ImportJob, d jobs.Details, firstErrors json.RawMessage) JobView {
	v := JobView{ImportJob: j, FailureReason: d.FailureReason}
	if d.RollbackEvents != nil {
		rv := &RollbackView{Events: *d.RollbackEvents, Done: d.RollbackDone, Conflicts: d.RollbackConflicts,
			StartedAt: d.RollbackStartedAt, ConflictList: []rollback.Conflict{}}
		rv.Percent = percent(rv.Done, rv.Events)
		v.Rollback = rv
	}
	if j.TotalRows != nil {
		v.Percent = percent(j.ProcessedRows, *j.TotalRows)
	}
	if j.Status == jobs.StatusCompleted {
		v.Percent = 100
	}
	if j.StartedAt != nil {
		end := s.now()
		if j.CompletedAt != nil {
			end = *j.CompletedAt
		}
		if secs := end.Sub(*j.StartedAt).Seconds(); secs > 0 {
			v.RowsPerSecond = float64(int(float64(j.ProcessedRows) / secs))
		}
	}
	if j.Status == jobs.StatusProcessing && v.RowsPerSecond > 0 && j.TotalRows != nil {
		left := float64(int(float64(*j.TotalRows-j.ProcessedRows) / v.RowsPerSecond))
		v.TimeLeftSeconds = &left
	}
	v.DryRun, v.Review = j.ImportOptions.DryRun, d.Review
	v.Undoable = j.CanRollback && !v.DryRun && jobs.Allowed(jobs.OpBeginRollback, j.Status) &&
		(j.Status == jobs.StatusCompleted || j.ProcessedRows > 0)
	if d.ChunkCount != nil {
		v.ChunkCount = *d.ChunkCount
	}
	if d.ErrorReportKey != nil {
		v.ErrorReport = "/v1/imports/" + j.ID.String() + "/errors"
	}
	if len(v.Errors) == 0 || string(v.Errors) == "null" {
		v.Errors = firstErrors
	}
	if len(v.Errors) == 0 {
		v.Errors = json.RawMessage("[]")
	}
	return v
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	var view JobView
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		var err error
		if view, err = s.jobView(r.Context(), tx, jobID); err != nil {
			return err
		}
		if view.Rollback != nil && view.Rollback.Conflicts > 0 {
			if view.Rollback.ConflictList, err = rollback.Conflicts(r.Context(), tx, jobID, 100); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request, id Identity) error {
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !slices.Contains(jobs.Statuses, status) {
		return badRequest(fmt.Sprintf("unknown status %q; use one of %s", status, strings.Join(jobs.Statuses, ", ")))
	}
	limit, before, err := paging(r)
	if err != nil {
		return err
	}
	var list []jobs.Listed
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		var err error
		list, err = jobs.ListImports(r.Context(), tx, status, limit+1, before)
		return err
	})
	if err != nil {
		return err
	}
	out := struct {
		Imports    []JobView `json:"imports"`
		NextCursor string    `json:"next_cursor,omitempty"`
	}{Imports: []JobView{}}
	if len(list) > limit {
		list = list[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString(list[limit-1].ID[:])
	}
	for _, l := range list {
		out.Imports = append(out.Imports, s.view(l.ImportJob, l.Details, nil))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// importErrors gives the full error report: a CSV with a line per row not
// imported (row, result, errors, then the row's original columns). It
// redirects to a short-lived download URL, so a report of any size leaves
// the API's response limits alone; a job with no rejected rows gets just
// the header line.
func (s *Server) importErrors(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	var d jobs.Details
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		if _, err := jobs.GetImport(r.Context(), tx, jobID); err != nil {
			return err
		}
		d, err = jobs.GetDetails(r.Context(), tx, jobID)
		return err
	})
	if err != nil {
		return err
	}
	if d.ErrorReportKey == nil {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		io.WriteString(w, "row,result,errors\r\n")
		return nil
	}
	disposition := fmt.Sprintf(`attachment; filename="import-%s-errors.csv"`, jobID)
	req, err := s.Presign.PresignGetObject(r.Context(), &s3.GetObjectInput{
		Bucket: &s.UploadsBucket, Key: d.ErrorReportKey, ResponseContentDisposition: &disposition,
		ResponseContentType: ptr("text/csv; charset=utf-8"),
	}, s3.WithPresignExpires(downloadURLLife))
	if err != nil {
		return fmt.Errorf("presign error report: %w", err)
	}
	http.Redirect(w, r, req.URL, http.StatusSeeOther)
	return nil
}

const downloadURLLife = 5 * time.Minute

// rollbackImport moves the job to rolling_back and starts (or resumes) its
// rollback: 202 with the job; 409 when the job cannot be rolled back.
func (s *Server) rollbackImport(w http.ResponseWriter, r *http.Request, id Identity) error {
	jobID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return notFound("no such import")
	}
	if s.Rollbacks == nil {
		return errors.New("rollbacks are not configured")
	}
	var view JobView
	err = postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		j, err := rollback.Begin(r.Context(), tx, jobID)
		if err != nil {
			return err
		}
		d, err := jobs.GetDetails(r.Context(), tx, jobID)
		view = s.view(j, d, nil)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.Rollbacks.Start(r.Context(), id.TenantID, jobID); err != nil {
		return fmt.Errorf("start rollback of %s: %w", jobID, err)
	}
	writeJSON(w, http.StatusAccepted, view)
	return nil
}

// maxBody bounds a request body: no request of this API needs more.
const maxBody = 1 << 20

// decodeJSON reads one JSON object into v: a body over maxBody is 413, data
// after the object is 400, and so is a NUL character in any string (it
// cannot be stored in PostgreSQL text), named by where it is.
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return badRequest("the request body cannot be read: " + err.Error())
	}
	if len(body) > maxBody {
		return tooLarge(fmt.Sprintf("the request body is larger than %d bytes", maxBody))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid JSON body: unexpected data after the JSON object")
	}
	if bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		var raw any
		if json.Unmarshal(body, &raw) == nil {
			if where := nulAt(raw, ""); where != "" {
				return badRequest(where + " contains a NUL character (\\u0000), which cannot be stored")
			}
		}
	}
	return nil
}

// nulAt returns where in v a string (or an object key) holds a NUL: a path
// such as field_mapping["Email"] or import_options.tags[2], or "".
func nulAt(v any, at string) string {
	switch t := v.(type) {
	case string:
		if strings.ContainsRune(t, 0) {
			return at
		}
	case []any:
		for i, e := range t {
			if w := nulAt(e, fmt.Sprintf("%s[%d]", at, i)); w != "" {
				return w
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := k
			if at != "" {
				name = at + "." + k
				if !isIdent(k) {
					name = fmt.Sprintf("%s[%q]", at, k)
				}
			}
			if strings.ContainsRune(k, 0) {
				return fmt.Sprintf("a key of %s", orBody(at))
			}
			if w := nulAt(t[k], name); w != "" {
				return w
			}
		}
	}
	return ""
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func orBody(at string) string {
	if at == "" {
		return "the body"
	}
	return at
}

func ptr[T any](v T) *T { return &v }
