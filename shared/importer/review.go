package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/textcut"
)

// InspectRows is how many rows of a file the review shows.
const InspectRows = 20

// inspectCountBytes is how much of a file Inspect reads to count its rows;
// past it the count is an estimate from the bytes per row so far.
const inspectCountBytes = 64 << 20

// Mapping sources: where an inspection's suggested mapping comes from.
const (
	FromSuggestion = "suggested"
	FromMemory     = "from your last import"
)

// Inspection is what a person reviews before an import starts (GET
// /v1/imports/{id}/preview): the file as read, its first rows, the
// suggested mapping and how sure each suggestion is, and the row count.
type Inspection struct {
	Preview
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
	// EstimatedRows is the number of data rows: counted when
	// RowsCounted, else estimated from the bytes per row of the part read.
	EstimatedRows int  `json:"estimated_rows"`
	RowsCounted   bool `json:"rows_counted"`
	// MappingSource is FromMemory when the tenant confirmed a mapping for
	// these headers before, FromSuggestion otherwise.
	MappingSource string `json:"mapping_source"`
	// Fields are the targets a column may be mapped to.
	Fields []string `json:"fields"`
	// Problems are what would stop the import as suggested (email
	// unmapped, two columns on one field), to fix before starting.
	Problems []string `json:"problems"`
}

// Inspect reads the head of a job's upload for review, stores the
// inspection and the token of the execution waiting on it, and moves the
// job to awaiting_review. A damaged file is an apperr.Invalid error, as in
// Prepare; a job cancelled meanwhile is refused the same way, so that the
// state machine records it.
func Inspect(ctx context.Context, d Deps, tenantID, jobID uuid.UUID, token string) (Inspection, error) {
	job, det, err := readJob(ctx, d, tenantID, jobID)
	if err != nil {
		return Inspection{}, err
	}
	if det.CancelRequestedAt != nil {
		return Inspection{}, errCancelled
	}
	if !jobs.Allowed(jobs.OpAwaitReview, job.Status) {
		return Inspection{}, jobs.WrongState(string(jobs.OpAwaitReview), job.Status)
	}
	in, err := inspectFile(ctx, d, &job, det.SourceKey)
	if err != nil {
		return in, err
	}
	err = postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		remembered, err := jobs.RecallMapping(ctx, tx, in.Header)
		if err != nil {
			return err
		}
		in.suggest(remembered, job.FieldMapping, job.ImportOptions.Options)
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		return jobs.AwaitReview(ctx, tx, jobID, token, raw)
	})
	return in, postgres.AppError(err)
}

// errCancelled refuses a step of a cancelled job as a problem of the
// input: the state machine's Catch records it, and nothing retries it.
var errCancelled = apperr.Invalidf("the import was cancelled")

// inspectFile reads the header and first rows, and counts the rows of the
// first inspectCountBytes.
func inspectFile(ctx context.Context, d Deps, job *jobs.ImportJob, key string) (Inspection, error) {
	var read int64
	rd, closeUpload, err := openUpload(ctx, d, job, key, &read)
	if err != nil {
		return Inspection{}, err
	}
	defer closeUpload()
	in := Inspection{Preview: previewOf(rd), FileName: job.FileName, FileSize: job.FileSize, RowsCounted: true}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return in, err
		}
		in.EstimatedRows++
		if len(in.Rows) < InspectRows {
			in.Rows = append(in.Rows, sampleValues(rec.Values))
		}
		if read > inspectCountBytes {
			in.RowsCounted = false
			in.EstimatedRows = int(float64(in.EstimatedRows) * float64(job.FileSize) / float64(read))
			break
		}
	}
	return in, nil
}

// maxSampleRunes bounds a value shown in review: a file of hundreds of
// columns of long cells must not make an inspection of megabytes (it is
// stored with the job and sent whole to the browser).
const maxSampleRunes = 200

// sampleValues is a row as review shows it, each value cut at
// maxSampleRunes.
func sampleValues(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = textcut.Runes(v, maxSampleRunes)
	}
	return out
}

// suggest sets the suggested mapping: the one remembered for these
// headers, else the one given at creation, else the automatic one, and
// lists what would stop the import as suggested.
func (in *Inspection) suggest(remembered, given map[string]string, opts mapping.Options) {
	in.MappingSource = FromSuggestion
	switch {
	case len(remembered) > 0:
		in.MappingSource = FromMemory
		for col, field := range remembered {
			// A column left out last time is remembered as "ignore": it is
			// suggested as left out (""), which the page shows as "Don't
			// import", not as a field of that name.
			field = mapping.CleanTarget(field)
			in.SuggestedMapping[col] = field
			in.Suggestions[col] = mapping.Suggestion{Field: field, Confidence: 1, Reason: FromMemory}
		}
	case len(given) > 0:
		for col, field := range given {
			in.SuggestedMapping[col] = field
			in.Suggestions[col] = mapping.Suggestion{Field: field, Confidence: 1, Reason: "given"}
		}
	}
	in.Fields = mapping.Targets()
	in.Problems = []string{}
	if _, err := mapping.ResolveWith(in.Header, in.Rows, explicit(in.Header, in.SuggestedMapping), opts); err != nil {
		in.Problems = append(in.Problems, apperr.MessageOf(err))
	}
}

// explicit is a reviewed mapping as field_mapping: every column named, the
// ones left alone as "ignore", so that nothing is mapped behind the
// person's back.
func explicit(header []string, m map[string]string) map[string]string {
	out := make(map[string]string, len(header))
	for _, col := range header {
		field := m[col]
		if field == "" {
			field = "ignore"
		}
		out[col] = field
	}
	return out
}

// StartRequest is what a person confirms in review (POST
// /v1/imports/{id}/start): the mapping, column → field ("" or "ignore" to
// leave a column alone; columns not named keep the suggestion), and the
// options (the job's own when absent).
type StartRequest struct {
	FieldMapping  map[string]string `json:"field_mapping"`
	ImportOptions json.RawMessage   `json:"import_options"`
}

// Start checks a reviewed mapping and options against the inspected file,
// stores them on the job, remembers the mapping for these headers, moves
// the job back to pending and returns the token that resumes its
// execution. A job started before whose execution did not take the token
// gets it again with nothing changed: a start sent twice starts once.
func Start(ctx context.Context, tx pgx.Tx, tenantID, jobID uuid.UUID, req StartRequest) (string, error) {
	job, err := jobs.Lock(ctx, tx, jobID)
	if err != nil {
		return "", err
	}
	if job.Status == jobs.StatusPending {
		if token, err := jobs.TaskToken(ctx, tx, jobID); err != nil || token != "" {
			return token, err
		}
	}
	if job.Status != jobs.StatusAwaitingReview {
		return "", jobs.WrongState(string(jobs.OpStart), job.Status)
	}
	raw, err := jobs.Inspection(ctx, tx, jobID)
	if err != nil {
		return "", err
	}
	var in Inspection
	if err := json.Unmarshal(raw, &in); err != nil {
		return "", fmt.Errorf("inspection of job %s: %w", jobID, err)
	}
	final := make(map[string]string, len(in.Header))
	for col, field := range in.SuggestedMapping {
		final[col] = field
	}
	byLower := make(map[string]string, len(in.Header))
	for _, h := range in.Header {
		byLower[strings.ToLower(h)] = h
	}
	for col, field := range req.FieldMapping {
		if h, ok := byLower[strings.ToLower(col)]; ok {
			col = h // the file's own spelling replaces the suggestion's entry
		}
		final[col] = field
	}
	opts := job.ImportOptions
	if len(req.ImportOptions) > 0 && string(req.ImportOptions) != "null" {
		if opts, err = jobs.ParseOptions(req.ImportOptions); err != nil {
			return "", err
		}
	}
	fm := explicit(in.Header, final)
	for col := range final {
		if _, ok := fm[col]; !ok {
			fm[col] = final[col] // a column the file lacks: ResolveWith names it
		}
	}
	if _, err := mapping.ResolveWith(in.Header, in.Rows, fm, opts.Options); err != nil {
		return "", err
	}
	// ResolveWith checked the mapping against the inspected file as a
	// whole (targets, columns, email mapped, no field twice);
	// StartReviewed checks the workspace, as CreateImport does.
	token, err := jobs.StartReviewed(ctx, tx, jobID, fm, opts)
	if err != nil {
		return "", err
	}
	if err := jobs.RememberMapping(ctx, tx, tenantID, in.Header, fm); err != nil {
		return "", err
	}
	return token, nil
}

// Cancellation is what a cancel did: Token is the callback token of an
// execution waiting for review (to fail with SendTaskFailure).
type Cancellation struct {
	Token string
	Job   jobs.ImportJob
}

// Cancel stops an import at once. Before any chunk ran (awaiting review,
// pending, preparing) nothing was written and its upload is deleted. While
// chunks run, the chunks that committed before the cancel stay, with their
// counters, and can be rolled back; a chunk in flight rolls back at its
// last step (jobs.ChunkMayCommit) and no chunk commits after the cancel.
// Cancelling a cancelled import returns it unchanged.
func Cancel(ctx context.Context, db postgres.Beginner, uploads objstore.Store, tenantID, jobID uuid.UUID) (Cancellation, error) {
	var c Cancellation
	var sourceKey string
	err := postgres.InTenantTx(ctx, db, tenantID, func(tx pgx.Tx) error {
		job, err := jobs.Lock(ctx, tx, jobID)
		if err != nil {
			return err
		}
		if job.Status == jobs.StatusCancelled {
			c.Job = job
			return nil
		}
		if !jobs.Allowed(jobs.OpCancel, job.Status) {
			return apperr.New(apperr.Conflict, "cannot cancel an import that is %s", job.Status)
		}
		det, err := jobs.GetDetails(ctx, tx, jobID)
		if err != nil {
			return err
		}
		if err := jobs.RequestCancel(ctx, tx, jobID); err != nil {
			return err
		}
		if job.Status != jobs.StatusProcessing {
			if c.Token, err = jobs.TaskToken(ctx, tx, jobID); err != nil {
				return err
			}
			if err := jobs.ClearTaskToken(ctx, tx, jobID, c.Token); err != nil {
				return err
			}
			sourceKey = det.SourceKey
		}
		if err := cancelWithCounts(ctx, tx, jobID); err != nil {
			return err
		}
		c.Job, err = jobs.GetImport(ctx, tx, jobID)
		return err
	})
	if err != nil {
		return c, postgres.AppError(err)
	}
	if sourceKey != "" {
		if err := uploads.Delete(ctx, sourceKey); err != nil {
			return c, apperr.Retryable(fmt.Errorf("delete the upload of cancelled job %s: %w", jobID, err))
		}
	}
	return c, nil
}

// cancelWithCounts ends a job cancelled with the counters and first row
// errors of the chunks that had committed. The caller holds the job's lock.
func cancelWithCounts(ctx context.Context, tx pgx.Tx, jobID uuid.UUID) error {
	errs, err := jobs.FirstChunkErrors(ctx, tx, jobID, MaxErrorsKept)
	if err != nil {
		return err
	}
	return jobs.MarkCancelled(ctx, tx, jobID, errs)
}

// NotReviewedReason is the failure reason of an import nobody reviewed in
// time.
const NotReviewedReason = "not reviewed: the import waited for review longer than 7 days"

// ExpireReview fails a job whose review window closed and deletes its
// upload.
func ExpireReview(ctx context.Context, d Deps, tenantID, jobID uuid.UUID) error {
	var key string
	err := postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		det, err := jobs.GetDetails(ctx, tx, jobID)
		if err != nil {
			return err
		}
		key = det.SourceKey
		return jobs.MarkFailed(ctx, tx, jobID, NotReviewedReason)
	})
	if err != nil && !errors.Is(err, jobs.ErrWrongState) {
		return postgres.AppError(err)
	}
	if key != "" {
		if err := d.Store.Delete(ctx, key); err != nil {
			return apperr.Retryable(fmt.Errorf("delete the upload of job %s: %w", jobID, err))
		}
	}
	return nil
}
