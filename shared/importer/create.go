package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/readers"
)

// Request is what a client asks for to create an import (POST
// /v1/imports's body).
type Request struct {
	FileName      string            `json:"file_name"`
	FileSize      int64             `json:"file_size"`
	FileType      string            `json:"file_type"`
	FieldMapping  map[string]string `json:"field_mapping"`
	ImportOptions json.RawMessage   `json:"import_options"`
	// Review stops the import after its file is inspected, until a person
	// starts it (POST /v1/imports/{id}/start) or cancels it.
	Review bool `json:"review"`
}

// NewImport is a request that passed the rules: the job to create and
// where its file goes.
type NewImport struct {
	JobID, TenantID uuid.UUID
	FileName        string
	FileSize        int64
	FileType        readers.FileType
	// Key is the upload's object key; ContentType the type it is sent with.
	Key, ContentType string
	FieldMapping     map[string]string
	Options          jobs.Options
	Review           bool
}

var contentTypes = map[readers.FileType]string{
	readers.CSV:  "text/csv",
	readers.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	readers.JSON: "application/json",
	readers.VCF:  "text/vcard",
}

// Check applies the rules of a new import before anything is stored: a
// file name, a type the name or file_type tells (and they agree), a size
// within maxFileBytes (readers.DefaultLimits' when 0), a mapping onto known
// fields and valid options. Each refusal is an apperr.Invalid (or
// TooLarge) error that names what to fix.
func (r Request) Check(tenantID uuid.UUID, maxFileBytes int64) (NewImport, error) {
	name := strings.TrimSpace(r.FileName)
	if name == "" || len(name) > 255 {
		return NewImport{}, apperr.Invalidf("file_name is required (at most 255 characters)")
	}
	if base := path.Base(strings.ReplaceAll(name, "\\", "/")); base == "." || base == ".." || base == "/" {
		return NewImport{}, apperr.Invalidf("file_name %q is not a file name", name)
	}
	if err := mapping.CheckTargets(r.FieldMapping); err != nil {
		return NewImport{}, err
	}
	fileType := readers.TypeFromName(name)
	if r.FileType != "" {
		t, err := readers.ParseFileType(r.FileType)
		if err != nil {
			return NewImport{}, err
		}
		if fileType != "" && fileType != t {
			return NewImport{}, apperr.Invalidf("file_type %s does not match the file name %q", t, name)
		}
		fileType = t
	}
	if fileType == "" {
		return NewImport{}, apperr.Invalidf("cannot tell the type of %q: name a .csv, .xlsx, .json or .vcf file, or give file_type", name)
	}
	if maxFileBytes == 0 {
		maxFileBytes = readers.DefaultLimits.MaxFileBytes
	}
	switch {
	case r.FileSize <= 0:
		return NewImport{}, apperr.Invalidf("file_size must be the file's size in bytes (more than 0)")
	case r.FileSize > maxFileBytes:
		return NewImport{}, apperr.New(apperr.TooLarge, "the file is %d bytes; the limit is %d", r.FileSize, maxFileBytes)
	}
	opts, err := jobs.ParseOptions(r.ImportOptions)
	if err != nil {
		return NewImport{}, err
	}
	jobID, err := uuid.NewV7()
	if err != nil {
		return NewImport{}, err
	}
	return NewImport{JobID: jobID, TenantID: tenantID, FileName: name, FileSize: r.FileSize, FileType: fileType,
		Key: UploadKey(tenantID, jobID, safeName(name)), ContentType: contentTypes[fileType],
		FieldMapping: r.FieldMapping, Options: opts, Review: r.Review}, nil
}

// Create records a checked import as a pending job, created by createdBy,
// its file expected in bucket, and returns the job.
func Create(ctx context.Context, tx pgx.Tx, n NewImport, createdBy *uuid.UUID, bucket string) (jobs.ImportJob, error) {
	err := jobs.CreateImport(ctx, tx, jobs.NewImport{
		ID: n.JobID, TenantID: n.TenantID, CreatedBy: createdBy, FileName: n.FileName, FileSize: n.FileSize,
		FileURL: fmt.Sprintf("s3://%s/%s", bucket, n.Key), FileType: string(n.FileType), SourceKey: n.Key,
		FieldMapping: n.FieldMapping, Options: n.Options, Review: n.Review,
	})
	if err != nil {
		return jobs.ImportJob{}, err
	}
	return jobs.GetImport(ctx, tx, n.JobID)
}

// safeName keeps a file name usable as the last part of an S3 key.
func safeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "upload"
	}
	return b.String()
}

// ImportForReal starts, after a dry run that finished, the same import for
// real: a new job with the dry run's file, mapping and options, dry_run
// off, created by createdBy. The file is copied in the uploads store to the
// new job's key, which starts its execution as an upload does: nothing is
// uploaded again. Refused (409) for any job but a finished dry run; a file
// no longer kept fails the new job with a reason.
func ImportForReal(ctx context.Context, db postgres.Beginner, uploads objstore.Store, bucket string, tenantID, dryRunID uuid.UUID, createdBy *uuid.UUID) (jobs.ImportJob, error) {
	var job jobs.ImportJob
	var from string
	err := postgres.InTenantTx(ctx, db, tenantID, func(tx pgx.Tx) error {
		dry, err := jobs.GetImport(ctx, tx, dryRunID)
		if err != nil {
			return err
		}
		if !dry.ImportOptions.DryRun || dry.Status != jobs.StatusCompleted {
			return apperr.New(apperr.Conflict, "only a dry run that finished can be imported for real; this import is %s", dry.Status)
		}
		det, err := jobs.GetDetails(ctx, tx, dryRunID)
		if err != nil {
			return err
		}
		from = det.SourceKey
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		opts := dry.ImportOptions
		opts.DryRun = false
		job, err = Create(ctx, tx, NewImport{JobID: id, TenantID: tenantID, FileName: dry.FileName, FileSize: dry.FileSize,
			FileType: readers.FileType(dry.FileType), Key: UploadKey(tenantID, id, safeName(dry.FileName)),
			FieldMapping: dry.FieldMapping, Options: opts}, createdBy, bucket)
		return err
	})
	if err != nil {
		return job, postgres.AppError(err)
	}
	to := UploadKey(tenantID, job.ID, safeName(job.FileName))
	if err := copyUpload(ctx, uploads, from, to); err != nil {
		reason := "the file of the dry run is no longer kept; upload it again"
		if !errors.Is(err, objstore.ErrNotFound) {
			return job, apperr.Retryable(fmt.Errorf("copy the upload of job %s: %w", dryRunID, err))
		}
		ferr := postgres.InTenantTx(ctx, db, tenantID, func(tx pgx.Tx) error { return jobs.MarkFailed(ctx, tx, job.ID, reason) })
		return job, errors.Join(apperr.New(apperr.Gone, "%s", reason), ferr)
	}
	return job, nil
}

// copyUpload copies an upload to another key; the new object raises the
// same event an upload does.
func copyUpload(ctx context.Context, store objstore.Store, from, to string) error {
	rc, err := store.Get(ctx, from)
	if err != nil {
		return err
	}
	defer rc.Close()
	return store.Put(ctx, to, rc)
}
