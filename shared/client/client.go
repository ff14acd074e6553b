// Package client speaks Portage's HTTP API exactly as the browser does:
// create an import, PUT the file to the presigned URL, follow the job. The
// CLI's client commands and the end-to-end tests use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/portagehq/portage/shared/api"
	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
)

// Client is an API client. The zero HTTP field uses http.DefaultClient.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// ImportRequest is POST /v1/imports's body.
type ImportRequest struct {
	FileName      string            `json:"file_name"`
	FileSize      int64             `json:"file_size"`
	FileType      string            `json:"file_type,omitempty"`
	FieldMapping  map[string]string `json:"field_mapping,omitempty"`
	ImportOptions *jobs.Options     `json:"import_options,omitempty"`
	// Review stops the import after its file is inspected, until Start.
	Review bool `json:"review,omitempty"`
}

// Job is an import job as the API returns it.
type Job = api.JobView

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// busyRetries is how many times a read the API answered 503 (the database
// busy or failing over) is asked again, each after the Retry-After it
// gave: the import or export goes on meanwhile, and the CLI with it.
const busyRetries = 8

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = b
	}
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http().Do(req)
		if err != nil {
			return err
		}
		// Only reads are asked again: a write the API refused as busy
		// may be sent again by the person, who sees the error.
		if resp.StatusCode == http.StatusServiceUnavailable && method == http.MethodGet && attempt < busyRetries {
			wait := retryAfter(resp.Header.Get("Retry-After"))
			resp.Body.Close()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		return c.finish(resp, out)
	}
}

// retryAfter reads a Retry-After of seconds (1 s when absent or unreadable,
// at most 30).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return time.Second
	}
	return time.Duration(min(n, 30)) * time.Second
}

func (c *Client) finish(resp *http.Response, out any) error {
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error   *apperr.Error `json:"error"`
		Message string        `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil {
		if e.Error != nil {
			return &APIError{Status: resp.StatusCode, Code: string(e.Error.Code), Message: e.Error.Message}
		}
		if e.Message != "" {
			return &APIError{Status: resp.StatusCode, Message: e.Message}
		}
	}
	return &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
}

// ImportForReal starts a finished dry run's import for real, with its
// file, mapping and options, and returns the new job.
func (c *Client) ImportForReal(ctx context.Context, id string) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodPost, "/v1/imports/"+id+"/import", nil, &j)
	return j, err
}

// Fields lists what a person may import into or export: the standard
// fields, tags, the timestamps and the tenant's custom fields.
func (c *Client) Fields(ctx context.Context) ([]api.Field, error) {
	var out struct {
		Fields []api.Field `json:"fields"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/fields", nil, &out)
	return out.Fields, err
}

// CreateImport creates a job and returns it with its upload instructions.
func (c *Client) CreateImport(ctx context.Context, req ImportRequest) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodPost, "/v1/imports", req, &j)
	return j, err
}

// Upload sends the file to the job's presigned URL, as a browser would.
func (c *Client) Upload(ctx context.Context, j Job, body io.Reader, size int64) error {
	if j.Upload == nil {
		return errors.New("the job has no upload instructions")
	}
	req, err := http.NewRequestWithContext(ctx, j.Upload.Method, j.Upload.URL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	for k, v := range j.Upload.Headers {
		if !strings.EqualFold(k, "content-length") {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("upload refused (HTTP %d): %s", resp.StatusCode, b)
	}
	return nil
}

// ImportFile creates a job for the file at path and uploads it.
func (c *Client) ImportFile(ctx context.Context, path string, req ImportRequest) (Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return Job{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Job{}, err
	}
	if req.FileName == "" {
		req.FileName = filepath.Base(path)
	}
	req.FileSize = st.Size()
	j, err := c.CreateImport(ctx, req)
	if err != nil {
		return j, err
	}
	return j, c.Upload(ctx, j, f, st.Size())
}

// GetImport reads a job.
func (c *Client) GetImport(ctx context.Context, id string) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodGet, "/v1/imports/"+id, nil, &j)
	return j, err
}

// Rollback starts (or resumes) the rollback of a job.
func (c *Client) Rollback(ctx context.Context, id string) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodPost, "/v1/imports/"+id+"/rollback", nil, &j)
	return j, err
}

// Inspection is what a job created with review shows before it starts.
type Inspection = importer.Inspection

// Preview reads the inspection of a job created with review.
func (c *Client) Preview(ctx context.Context, id string) (Inspection, error) {
	var in Inspection
	err := c.do(ctx, http.MethodGet, "/v1/imports/"+id+"/preview", nil, &in)
	return in, err
}

// WaitReview polls until a job created with review has been inspected (or
// has ended), and returns its inspection.
func (c *Client) WaitReview(ctx context.Context, id string, every time.Duration) (Job, Inspection, error) {
	j, err := poll(ctx, every, func() (Job, error) { return c.GetImport(ctx, id) },
		func(j Job) bool { return j.Status == jobs.StatusAwaitingReview || Terminal(j.Status) }, nil)
	if err != nil || j.Status != jobs.StatusAwaitingReview {
		return j, Inspection{}, err
	}
	in, err := c.Preview(ctx, id)
	return j, in, err
}

// StartRequest is POST /v1/imports/{id}/start's body.
type StartRequest = importer.StartRequest

// Start starts a reviewed import with the mapping and options confirmed.
func (c *Client) Start(ctx context.Context, id string, req StartRequest) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodPost, "/v1/imports/"+id+"/start", req, &j)
	return j, err
}

// Cancel stops an import.
func (c *Client) Cancel(ctx context.Context, id string) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodPost, "/v1/imports/"+id+"/cancel", nil, &j)
	return j, err
}

// ListImports returns the tenant's imports, newest first.
func (c *Client) ListImports(ctx context.Context, limit int) ([]Job, error) {
	var out struct {
		Imports []Job `json:"imports"`
	}
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/imports?limit=%d", limit), nil, &out)
	return out.Imports, err
}

// Terminal reports whether a job's status is final.
func Terminal(status string) bool {
	switch status {
	case jobs.StatusCompleted, jobs.StatusFailed, jobs.StatusCancelled, jobs.StatusRolledBack:
		return true
	}
	return false
}

// Wait polls the job until its status is final, calling progress (when not
// nil) with every reading.
func (c *Client) Wait(ctx context.Context, id string, every time.Duration, progress func(Job)) (Job, error) {
	return poll(ctx, every, func() (Job, error) { return c.GetImport(ctx, id) },
		func(j Job) bool { return Terminal(j.Status) }, progress)
}

// poll reads until done says so, ctx ends or a read fails.
func poll[T any](ctx context.Context, every time.Duration, read func() (T, error), done func(T) bool, progress func(T)) (T, error) {
	for {
		v, err := read()
		if err != nil {
			return v, err
		}
		if progress != nil {
			progress(v)
		}
		if done(v) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(every):
		}
	}
}

// Errors streams the job's full error report (CSV) into w.
func (c *Client) Errors(ctx context.Context, id string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/v1/imports/"+id+"/errors", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	// The API redirects to a presigned URL; the token must not follow it there.
	hc := *c.http()
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		r.Header.Del("Authorization")
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// ExportRequest is POST /v1/exports's body.
type ExportRequest struct {
	ExportType     string          `json:"export_type,omitempty"`
	Filters        json.RawMessage `json:"filters,omitempty"`
	SegmentID      string          `json:"segment_id,omitempty"`
	SelectedFields []string        `json:"selected_fields,omitempty"`
	FileFormat     string          `json:"file_format"`
	FormulaSafe    *bool           `json:"formula_safe,omitempty"`
}

// Export is an export job as the API returns it.
type Export = api.ExportView

// CreateExport starts an export.
func (c *Client) CreateExport(ctx context.Context, req ExportRequest) (Export, error) {
	var e Export
	err := c.do(ctx, http.MethodPost, "/v1/exports", req, &e)
	return e, err
}

// GetExport reads an export (with a fresh download URL once completed).
func (c *Client) GetExport(ctx context.Context, id string) (Export, error) {
	var e Export
	err := c.do(ctx, http.MethodGet, "/v1/exports/"+id, nil, &e)
	return e, err
}

// WaitExport polls until the export is completed or failed.
func (c *Client) WaitExport(ctx context.Context, id string, every time.Duration, progress func(Export)) (Export, error) {
	return poll(ctx, every, func() (Export, error) { return c.GetExport(ctx, id) },
		func(e Export) bool { return e.Status == jobs.StatusCompleted || e.Status == jobs.StatusFailed }, progress)
}

// Download fetches an export's file from its download URL into w.
func (c *Client) Download(ctx context.Context, e Export, w io.Writer) error {
	if e.DownloadURL == "" {
		return errors.New("the export has no download URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.DownloadURL, nil)
	if err != nil {
		return err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download refused (HTTP %d)", resp.StatusCode)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
