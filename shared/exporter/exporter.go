// Package exporter writes a tenant's live contacts to a file in the object
// store: csv, xlsx or json, rows streamed from PostgreSQL into a multipart
// upload so that memory stays flat whatever the count. It owns the export
// worker's steps (count, stream, record, expire); the filter language is
// package filters.
package exporter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/filters"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
)

// Deps are what an export needs.
type Deps struct {
	DB     *pgxpool.Pool
	Store  objstore.Store
	Bucket string
	// ProgressEvery is how many rows pass between progress updates (10,000).
	ProgressEvery int
	Log           *slog.Logger
}

// Request is the export worker's payload.
type Request struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ExportID uuid.UUID `json:"export_id"`
}

// Handle is the export Lambda's handler (invoked asynchronously).
func (d Deps) Handle(ctx context.Context, r Request) error {
	return Run(ctx, d, r.TenantID, r.ExportID)
}

// ObjectKey is where an export's file goes.
func ObjectKey(tenantID, exportID uuid.UUID, format string) string {
	return fmt.Sprintf("exports/%s/%s.%s", tenantID, exportID, format)
}

// Run performs an export: it counts and streams the matching live contacts
// in one consistent snapshot into the object store, then records the file.
// An export already completed, failed or expired is left alone, so a
// repeated invocation is harmless. Any failure marks the export failed with
// a reason.
func Run(ctx context.Context, d Deps, tenantID, exportID uuid.UUID) error {
	err := run(ctx, d, tenantID, exportID)
	if err == nil || errors.Is(err, errDone) {
		return nil
	}
	reason := "the export failed on an internal error; please try again"
	if apperr.Is(err, apperr.Invalid) {
		reason = apperr.MessageOf(err)
	}
	d.log().ErrorContext(ctx, "export failed", "export_id", exportID, "tenant_id", tenantID, "error", err)
	// The failure is recorded even when the function's deadline is what
	// ended the export: on a context of its own, with a few seconds.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), failTimeout)
	defer cancel()
	ferr := postgres.InTenantTx(fctx, d.DB, tenantID, func(tx pgx.Tx) error {
		_, err := jobs.FailExport(fctx, tx, exportID, reason)
		return err
	})
	return errors.Join(err, ferr)
}

// failTimeout is how long recording an export's failure may take after the
// export itself stopped (untilDeadline leaves 20 s for it).
const failTimeout = 15 * time.Second

var errDone = errors.New("export already ended")

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}

func run(ctx context.Context, d Deps, tenantID, exportID uuid.UUID) error {
	var job jobs.ExportJob
	var det jobs.ExportDetails
	var f filters.Filter
	err := postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		var err error
		if job, err = jobs.GetExport(ctx, tx, exportID); err != nil {
			return err
		}
		if job.Status != jobs.StatusPending && job.Status != jobs.StatusProcessing {
			return errDone
		}
		if det, err = jobs.GetExportDetails(ctx, tx, exportID); err != nil {
			return err
		}
		raw := job.Filters
		if job.ExportType == TypeSegment {
			if det.SegmentID == nil {
				return apperr.Invalidf("a segment export needs a segment")
			}
			seg, err := filters.GetSegment(ctx, tx, *det.SegmentID)
			if err != nil {
				return apperr.Invalidf("the export's segment no longer exists")
			}
			raw = seg.Filters
		}
		if job.ExportType == TypeFull {
			raw = nil
		}
		f, err = filters.Parse(raw)
		return err
	})
	if err != nil {
		return err
	}
	fields := job.SelectedFields
	if len(fields) == 0 {
		fields = DefaultFields
	}
	key := ObjectKey(tenantID, exportID, job.FileFormat)
	where, args := f.SQL(0)

	if err := postgres.InTenantTx(ctx, d.DB, tenantID, func(ptx pgx.Tx) error {
		return jobs.StartExport(ctx, ptx, exportID, nil)
	}); err != nil {
		return err
	}
	// One repeatable-read snapshot for the count and the rows: the total is
	// exactly what the file holds. It is the only connection the export
	// holds: its progress is written on another only when one is free at
	// once, and its end after the snapshot's connection is given back, so
	// that exports never wait on each other for the pool.
	conn, err := d.DB.Acquire(ctx)
	if err != nil {
		return postgres.AppError(err)
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := postgres.SetTenant(ctx, tx, tenantID); err != nil {
		return err
	}
	// An export is one long statement (a COPY or a cursor over every row):
	// it may run for as long as the function does, not the 60 s of a
	// request's statements.
	if err := postgres.SetStatementTimeout(ctx, tx, untilDeadline(ctx)); err != nil {
		return err
	}
	// The total is counted first for the progress the row path reports as
	// it goes. COPY reports none until it ends, so there the count would
	// only read every contact twice: its total is the rows written.
	viaCopy := copyable(job.FileFormat, job.ExportType, fields)
	var total *int
	if !viaCopy {
		total = new(int)
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM contacts c WHERE `+where, args...).Scan(total); err != nil {
			return fmt.Errorf("count contacts: %w", err)
		}
		d.progress(ctx, tenantID, exportID, 0, total)
	}

	pr, pw := io.Pipe()
	// The writers hand over small pieces (csv.Writer 4 KiB at a time); a
	// pipe write costs a goroutine switch each, so they are gathered first.
	buffered := bufio.NewWriterSize(pw, 256<<10)
	counter := &countingWriter{w: buffered}
	put := make(chan error, 1)
	go func() {
		err := d.Store.Put(ctx, key, pr)
		pr.CloseWithError(err)
		put <- err
	}()
	var written int
	var werr error
	switch {
	case viaCopy && job.FileFormat == "json":
		written, werr = copyJSON(ctx, tx, tenantID, fields, counter)
	case viaCopy:
		written, werr = copyCSV(ctx, tx, tenantID, fields, det.FormulaSafe, counter)
	default:
		written, werr = d.write(ctx, tx, job, fields, where, args, counter, det.FormulaSafe, tenantID)
	}
	if werr == nil {
		werr = buffered.Flush()
	}
	pw.CloseWithError(werr)
	if perr := <-put; werr == nil && perr != nil {
		werr = fmt.Errorf("upload %s: %w", key, perr)
	}
	if werr != nil {
		return werr
	}
	if total != nil && written != *total {
		return fmt.Errorf("wrote %d contacts, counted %d", written, *total)
	}
	if err := tx.Rollback(ctx); err != nil {
		return err
	}
	conn.Release()
	return postgres.InTenantTx(ctx, d.DB, tenantID, func(ptx pgx.Tx) error {
		return jobs.CompleteExport(ctx, ptx, exportID, fmt.Sprintf("s3://%s/%s", d.Bucket, key), key, counter.n, written)
	})
}

// exportColumns is read for every export; the fields pick from it.
const exportColumns = `c.id::text, c.workspace_id::text, c.email, c.first_name, c.last_name, c.phone, c.company,
	c.job_title, c.website, c.street, c.city, c.region, c.postal_code, c.country, c.tags, c.custom_fields, c.created_at, c.updated_at`

func (d Deps) write(ctx context.Context, tx pgx.Tx, job jobs.ExportJob, fields []string, where string, args []any,
	out io.Writer, formulaSafe bool, tenantID uuid.UUID) (int, error) {
	w, err := newWriter(job.FileFormat, out, formulaSafe)
	if err != nil {
		return 0, err
	}
	if err := w.header(fields); err != nil {
		return 0, err
	}
	rows, err := tx.Query(ctx, `SELECT `+exportColumns+` FROM contacts c WHERE `+where+` ORDER BY c.id`, args...)
	if err != nil {
		return 0, fmt.Errorf("read contacts: %w", err)
	}
	defer rows.Close()
	every := d.ProgressEvery
	if every <= 0 {
		every = 10_000
	}
	n := 0
	cells := make([]cell, len(fields))
	var (
		id, workspace       *string
		values              [contacts.NumFields]*string
		tags                []string
		custom              map[string]json.RawMessage
		createdAt, updateAt time.Time
	)
	dest := []any{&id, &workspace}
	for i := range values {
		dest = append(dest, &values[i])
	}
	dest = append(dest, &tags, &custom, &createdAt, &updateAt)
	for rows.Next() {
		custom = nil
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read contact: %w", err)
		}
		for i, f := range fields {
			cells[i] = pick(f, id, workspace, &values, tags, custom, &createdAt, &updateAt)
		}
		if err := w.row(cells); err != nil {
			return n, err
		}
		n++
		if n%every == 0 {
			d.progress(ctx, tenantID, job.ID, n, nil)
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read contacts: %w", err)
	}
	return n, w.close()
}

// progressWait is how long an export waits for a free connection to
// record its progress before it skips that record: progress is for people
// watching, and an export must not wait on other work for it.
const progressWait = 50 * time.Millisecond

// progress records how many contacts are written (and the total, when
// given), if a connection is free within progressWait; a failure to record
// it is logged and the export goes on.
func (d Deps) progress(ctx context.Context, tenantID, exportID uuid.UUID, n int, total *int) {
	actx, cancel := context.WithTimeout(ctx, progressWait)
	conn, err := d.DB.Acquire(actx)
	cancel()
	if err != nil {
		return
	}
	defer conn.Release()
	err = postgres.InTenantTx(ctx, conn, tenantID, func(tx pgx.Tx) error {
		return jobs.ExportProgress(ctx, tx, exportID, n, total)
	})
	if err != nil {
		d.log().WarnContext(ctx, "export progress not recorded", "export_id", exportID, "error", err)
	}
}

func pick(field string, id, workspace *string, values *[contacts.NumFields]*string, tags []string,
	custom map[string]json.RawMessage, created, updated *time.Time) cell {
	text := func(p *string) cell {
		if p == nil {
			return cell{null: true}
		}
		return cell{s: *p}
	}
	switch field {
	case "id":
		return text(id)
	case "workspace_id":
		return text(workspace)
	case "tags":
		if tags == nil {
			tags = []string{}
		}
		return cell{list: tags}
	case "created_at":
		t := *created
		return cell{t: &t}
	case "updated_at":
		t := *updated
		return cell{t: &t}
	}
	if f, ok := contacts.FieldByName(field); ok {
		return text(values[f])
	}
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		if v, ok := custom[name]; ok && string(v) != "null" {
			return cell{raw: v}
		}
	}
	return cell{null: true}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// untilDeadline is the time left before ctx's deadline (the function's
// timeout), less a margin to record the failure; 0 without a deadline.
func untilDeadline(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	if left := time.Until(dl) - 20*time.Second; left > time.Second {
		return left
	}
	return time.Second
}
