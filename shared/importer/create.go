package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
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
