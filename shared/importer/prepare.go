package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/formula"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/objstore"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/readers"
)

// DefaultChunkRows is the number of file rows per chunk when Deps leaves it 0.
const DefaultChunkRows = 5000

// Prepare reads the job's upload once: it validates and normalizes every
// row, marks in-file duplicates (the first valid occurrence of a key wins;
// later ones are skipped as "duplicate of row N"), writes the rows as chunk
// parts and a manifest, writes the error report when any row is bad, and
// moves the job to processing with total_rows set.
//
// A file or mapping that cannot be imported is an apperr.Invalid error and nothing is
// written to the contacts. Prepare is deterministic, so running it again for
// a job that is still pending rewrites the same objects; for a job already
// prepared it returns the recorded result without reading the file again.
func Prepare(ctx context.Context, d Deps, tenantID, jobID uuid.UUID) (PrepareResult, error) {
	res := PrepareResult{JobID: jobID, TenantID: tenantID}
	job, det, err := readJob(ctx, d, tenantID, jobID)
	if err != nil {
		return res, err
	}
	switch {
	case det.CancelRequestedAt != nil:
		return res, errCancelled
	case job.Status == jobs.StatusProcessing && det.ManifestKey != nil:
		res.ManifestKey, res.ChunkCount, res.TotalRows = *det.ManifestKey, deref(det.ChunkCount), deref(job.TotalRows)
		if det.ErrorReportKey != nil {
			res.ErrorReportKey = *det.ErrorReportKey
		}
		return res, nil
	case job.Status != jobs.StatusPending:
		return res, jobs.WrongState(string(jobs.OpPrepare), job.Status)
	}

	p := &preparer{d: d, job: &job, res: &res}
	if p.d.ChunkRows <= 0 {
		p.d.ChunkRows = DefaultChunkRows
	}
	if err := p.run(ctx, det.SourceKey); err != nil {
		return res, postgres.AppError(err)
	}
	err = postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		return jobs.MarkPrepared(ctx, tx, jobID, jobs.Prepared{
			TotalRows: res.TotalRows, ManifestKey: res.ManifestKey, ErrorReportKey: res.ErrorReportKey,
			ChunkCount: res.ChunkCount, FileType: p.fileType,
		})
	})
	if err != nil {
		return res, postgres.AppError(err)
	}
	return res, nil
}

// readJob reads a job and its details, for a step that then works outside
// a transaction (reading the file).
func readJob(ctx context.Context, d Deps, tenantID, jobID uuid.UUID) (jobs.ImportJob, jobs.Details, error) {
	var job jobs.ImportJob
	var det jobs.Details
	err := postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		var err error
		if job, err = jobs.GetImport(ctx, tx, jobID); err != nil {
			return err
		}
		det, err = jobs.GetDetails(ctx, tx, jobID)
		return err
	})
	return job, det, postgres.AppError(err)
}

// openUpload opens a job's upload with the pipeline's readers, as the
// job's options say (type, sheet, header row); n, when not nil, counts the
// bytes read from the object. A missing upload is an apperr.Invalid error.
func openUpload(ctx context.Context, d Deps, job *jobs.ImportJob, key string, n *int64) (readers.Reader, func(), error) {
	rc, err := d.Store.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, nil, apperr.Invalidf("the uploaded file %q was not found; upload it again", job.FileName)
	}
	if err != nil {
		return nil, nil, apperr.Retryable(fmt.Errorf("open upload: %w", err))
	}
	var r io.Reader = rc
	if n != nil {
		r = &countingReader{r: rc, n: n}
	}
	opts := job.ImportOptions
	rd, err := readers.Open(r, job.FileName, readers.Options{
		Type: readers.FileType(job.FileType), Sheet: opts.Sheet, HeaderRow: opts.HeaderRow,
		KnownHeader: mapping.KnownHeader, Limits: d.Limits, TempDir: d.TempDir,
	})
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rd, func() { rd.Close(); rc.Close() }, nil
}

// countingReader counts the bytes read through it into *n.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	*c.n += int64(k)
	return k, err
}

type preparer struct {
	d        Deps
	job      *jobs.ImportJob
	res      *PrepareResult
	fileType string

	part     partWriter
	partRows int
	partFrom int
	partTo   int
	chunks   []Chunk

	report *errorReport
	// uploads sends the chunk parts while the file is read on.
	uploads *errgroup.Group
	uctx    context.Context
}

func (p *preparer) run(ctx context.Context, sourceKey string) error {
	rd, closeUpload, err := openUpload(ctx, p.d, p.job, sourceKey, nil)
	if err != nil {
		return err
	}
	defer closeUpload()
	opts := p.job.ImportOptions
	p.fileType = string(rd.Info().FileType)
	plan, err := mapping.ResolveWith(rd.Header(), rd.Sample(), p.job.FieldMapping, opts.Options)
	if err != nil {
		return err
	}
	defer func() {
		if p.report != nil {
			p.report.abort()
		}
	}()

	// Reading and validating run on a goroutine of their own, ahead of the
	// rest (duplicates, the error report, encoding and uploading the parts):
	// a Lambda with more than one vCPU, like this machine, does both at once.
	done := make(chan struct{})
	batches := mapAhead(rd, plan, done)
	defer func() {
		close(done)
		for range batches { // the reader is closed after its goroutine ends
		}
	}()
	uploads, uctx := errgroup.WithContext(ctx)
	uploads.SetLimit(maxPartUploads)
	p.uploads, p.uctx = uploads, uctx
	defer uploads.Wait()

	seen := newKeySet()
	total := 0
	p.part.reset()
	for batch := range batches {
		for i := range batch.rows {
			m := &batch.rows[i]
			rec := m.rec
			total++
			pr := partRow{Row: rec.Row}
			switch {
			case m.errs != nil:
				pr.Errors = m.errs
				if err := p.reportRow(ctx, rd.Header(), rec, "error", joinMessages(m.errs)); err != nil {
					return err
				}
			default:
				if first := seen.firstRow(m.in.Key(), rec.Row); first != rec.Row {
					pr.DupOf = first
					if err := p.reportRow(ctx, rd.Header(), rec, "skipped", fmt.Sprintf("duplicate of row %d", first)); err != nil {
						return err
					}
				} else {
					pr.Input = &m.in
				}
			}
			if p.partRows == 0 {
				p.partFrom = rec.Row
			}
			p.partTo = rec.Row
			p.partRows++
			if err := p.part.add(pr); err != nil {
				return err
			}
			if p.partRows == p.d.ChunkRows {
				if err := p.flushPart(); err != nil {
					return err
				}
			}
		}
		if batch.err == io.EOF {
			break
		}
		if batch.err != nil {
			return batch.err
		}
	}
	if total == 0 {
		return apperr.Invalidf("the file has a header but no data rows")
	}
	if err := p.flushPart(); err != nil {
		return err
	}
	if err := uploads.Wait(); err != nil {
		return err
	}
	if p.report != nil {
		if err := p.report.close(); err != nil {
			return apperr.Retryable(fmt.Errorf("write error report: %w", err))
		}
		p.report = nil
		p.res.ErrorReportKey = errorReportKey(p.job.TenantID, p.job.ID)
	}
	manifest, err := json.Marshal(p.chunks)
	if err != nil {
		return err
	}
	key := manifestKey(p.job.TenantID, p.job.ID)
	if err := p.d.Store.Put(ctx, key, bytes.NewReader(manifest)); err != nil {
		return apperr.Retryable(fmt.Errorf("write manifest: %w", err))
	}
	p.res.ManifestKey, p.res.ChunkCount, p.res.TotalRows = key, len(p.chunks), total
	return nil
}

// flushPart starts the upload of the part gathered so far and begins the
// next one.
func (p *preparer) flushPart() error {
	if p.partRows == 0 {
		return nil
	}
	c := Chunk{JobID: p.job.ID, TenantID: p.job.TenantID, Index: len(p.chunks),
		FirstRow: p.partFrom, LastRow: p.partTo, Rows: p.partRows}
	c.Key = partKey(c.TenantID, c.JobID, c.Index)
	// The upload owns the part's bytes; the next part starts a buffer of its
	// own, as large as this one (parts are alike), rather than a copy.
	part := p.part.buf
	p.part.buf = make([]byte, 0, cap(part))
	p.uploads.Go(func() error {
		if err := p.d.Store.Put(p.uctx, c.Key, bytes.NewReader(part)); err != nil {
			return apperr.Retryable(fmt.Errorf("write chunk part %d: %w", c.Index, err))
		}
		return nil
	})
	p.chunks = append(p.chunks, c)
	p.part.reset()
	p.partRows = 0
	return nil
}

// maxPartUploads bounds the chunk parts being uploaded at once while
// prepare reads on.
const maxPartUploads = 2

// mappedRow is a record as the reading goroutine read and mapped it.
type mappedRow struct {
	rec  readers.Record
	in   contacts.Input
	errs []mapping.RowError
}

// mappedBatch is a run of mapped records; err, set on the last batch only,
// is io.EOF at the end of the file or why reading stopped.
type mappedBatch struct {
	rows []mappedRow
	err  error
}

const mapBatchRows = 256

// mapAhead reads and maps rd's records on a goroutine of its own and sends
// them in order, in batches, until the file ends, reading fails or done is
// closed. The channel is closed when the goroutine is done with rd.
func mapAhead(rd readers.Reader, plan *mapping.Plan, done <-chan struct{}) <-chan mappedBatch {
	out := make(chan mappedBatch, 8)
	go func() {
		defer close(out)
		batch := make([]mappedRow, 0, mapBatchRows)
		for {
			rec, err := rd.Next()
			if err != nil {
				select {
				case out <- mappedBatch{rows: batch, err: err}:
				case <-done:
				}
				return
			}
			in, errs := plan.Map(rec)
			batch = append(batch, mappedRow{rec: rec, in: in, errs: errs})
			if len(batch) == mapBatchRows {
				select {
				case out <- mappedBatch{rows: batch}:
				case <-done:
					return
				}
				batch = make([]mappedRow, 0, mapBatchRows)
			}
		}
	}()
	return out
}

// reportRow adds a line to the error report, starting the report's upload
// at the first bad row.
func (p *preparer) reportRow(ctx context.Context, header []string, rec readers.Record, result, msg string) error {
	if p.report == nil {
		p.report = startErrorReport(ctx, p.d.Store, errorReportKey(p.job.TenantID, p.job.ID), header, p.job.ImportOptions.RawErrorReport)
	}
	return p.report.write(rec, result, msg)
}

func joinMessages(errs []mapping.RowError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		if e.Column != "" {
			parts[i] = e.Column + ": " + e.Message
		} else {
			parts[i] = e.Message
		}
	}
	return strings.Join(parts, "; ")
}

// keySet remembers the first row of every match key in 128-bit hashes: 16
// bytes a key, whatever the key's length, so that prepare's memory grows
// slowly with the file. Two seeds make a collision (and a wrongly skipped
// row) vanishingly unlikely (about 2^-128 per pair).
type keySet struct {
	seeds [2]maphash.Seed
	first map[[2]uint64]int
}

func newKeySet() *keySet {
	return &keySet{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, first: map[[2]uint64]int{}}
}

// firstRow returns the first row that had key, recording row if none did.
func (s *keySet) firstRow(key string, row int) int {
	h := [2]uint64{maphash.String(s.seeds[0], key), maphash.String(s.seeds[1], key)}
	if r, ok := s.first[h]; ok {
		return r
	}
	s.first[h] = row
	return row
}

// errorReport streams the error report CSV into the object store: one line
// per row that was not imported (bad, or an in-file duplicate), with the row
// number, the result and the reasons, then the row's original values.
type errorReport struct {
	pw   *io.PipeWriter
	w    *csv.Writer
	done chan error
	// raw writes the values unchanged (import_options.raw_error_report).
	raw bool
}

func startErrorReport(ctx context.Context, store objstore.Store, key string, header []string, raw bool) *errorReport {
	pr, pw := io.Pipe()
	r := &errorReport{pw: pw, w: csv.NewWriter(pw), done: make(chan error, 1), raw: raw}
	go func() {
		err := store.Put(ctx, key, pr)
		pr.CloseWithError(err)
		r.done <- err
	}()
	r.w.Write(r.safe(append([]string{"row", "result", "errors"}, header...)))
	return r
}

func (r *errorReport) write(rec readers.Record, result, msg string) error {
	return r.w.Write(r.safe(append([]string{strconv.Itoa(rec.Row), result, msg}, rec.Values...)))
}

// safe makes the line's values inert for a spreadsheet, as exports are:
// the report is opened in Excel, and the values are the uploader's.
func (r *errorReport) safe(line []string) []string {
	if !r.raw {
		for i, v := range line {
			line[i] = formula.Neutralize(v)
		}
	}
	return line
}

func (r *errorReport) close() error {
	r.w.Flush()
	if err := r.w.Error(); err != nil {
		r.pw.CloseWithError(err)
		<-r.done
		return err
	}
	r.pw.Close()
	return <-r.done
}

func (r *errorReport) abort() {
	r.pw.CloseWithError(errors.New("prepare failed"))
	<-r.done
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
