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
// A file or mapping that cannot be imported is an *InputError and nothing is
// written to the contacts. Prepare is deterministic, so running it again for
// a job that is still pending rewrites the same objects; for a job already
// prepared it returns the recorded result without reading the file again.
func Prepare(ctx context.Context, d Deps, tenantID, jobID uuid.UUID) (PrepareResult, error) {
	res := PrepareResult{JobID: jobID, TenantID: tenantID}
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
	if err != nil {
		return res, classify(err)
	}
	switch {
	case job.Status == jobs.StatusProcessing && det.ManifestKey != nil:
		res.ManifestKey, res.ChunkCount, res.TotalRows = *det.ManifestKey, deref(det.ChunkCount), deref(job.TotalRows)
		if det.ErrorReportKey != nil {
			res.ErrorReportKey = *det.ErrorReportKey
		}
		return res, nil
	case job.Status != jobs.StatusPending:
		return res, fmt.Errorf("prepare job %s: status %s: %w", jobID, job.Status, jobs.ErrWrongState)
	}

	p := &preparer{d: d, job: &job, res: &res}
	if p.d.ChunkRows <= 0 {
		p.d.ChunkRows = DefaultChunkRows
	}
	if err := p.run(ctx, det.SourceKey); err != nil {
		return res, classify(err)
	}
	err = postgres.InTenantTx(ctx, d.DB, tenantID, func(tx pgx.Tx) error {
		return jobs.MarkPrepared(ctx, tx, jobID, jobs.Prepared{
			TotalRows: res.TotalRows, ManifestKey: res.ManifestKey, ErrorReportKey: res.ErrorReportKey,
			ChunkCount: res.ChunkCount, FileType: p.fileType,
		})
	})
	if err != nil {
		return res, classify(err)
	}
	return res, nil
}

type preparer struct {
	d        Deps
	job      *jobs.ImportJob
	res      *PrepareResult
	fileType string

	part     bytes.Buffer
	partRows int
	partFrom int
	partTo   int
	chunks   []Chunk

	report *errorReport
}

func (p *preparer) run(ctx context.Context, sourceKey string) error {
	rc, err := p.d.Store.Get(ctx, sourceKey)
	if errors.Is(err, objstore.ErrNotFound) {
		return inputErrorf("the uploaded file %q was not found; upload it again", p.job.FileName)
	}
	if err != nil {
		return &TransientError{Err: fmt.Errorf("open upload: %w", err)}
	}
	defer rc.Close()
	opts := p.job.ImportOptions
	rd, err := readers.Open(rc, p.job.FileName, readers.Options{
		Type: readers.FileType(p.job.FileType), Sheet: opts.Sheet, Limits: p.d.Limits, TempDir: p.d.TempDir,
	})
	if err != nil {
		return err
	}
	defer rd.Close()
	p.fileType = string(rd.Info().FileType)
	plan, err := mapping.Resolve(rd.Header(), p.job.FieldMapping, opts.Options)
	if err != nil {
		return err
	}
	defer func() {
		if p.report != nil {
			p.report.abort()
		}
	}()

	seen := newKeySet()
	total := 0
	enc := json.NewEncoder(&p.part)
	enc.SetEscapeHTML(false)
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		total++
		pr := partRow{Row: rec.Row}
		in, rowErrs := plan.Map(rec)
		switch {
		case rowErrs != nil:
			pr.Errors = rowErrs
			if err := p.reportRow(ctx, rd.Header(), rec, "error", joinMessages(rowErrs)); err != nil {
				return err
			}
		default:
			if first := seen.firstRow(in.Key(), rec.Row); first != rec.Row {
				pr.DupOf = first
				if err := p.reportRow(ctx, rd.Header(), rec, "skipped", fmt.Sprintf("duplicate of row %d", first)); err != nil {
					return err
				}
			} else {
				pr.Input = &in
			}
		}
		if p.partRows == 0 {
			p.partFrom = rec.Row
		}
		p.partTo = rec.Row
		p.partRows++
		if err := enc.Encode(pr); err != nil {
			return err
		}
		if p.partRows == p.d.ChunkRows {
			if err := p.flushPart(ctx); err != nil {
				return err
			}
		}
	}
	if total == 0 {
		return inputErrorf("the file has a header but no data rows")
	}
	if err := p.flushPart(ctx); err != nil {
		return err
	}
	if p.report != nil {
		if err := p.report.close(); err != nil {
			return &TransientError{Err: fmt.Errorf("write error report: %w", err)}
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
		return &TransientError{Err: fmt.Errorf("write manifest: %w", err)}
	}
	p.res.ManifestKey, p.res.ChunkCount, p.res.TotalRows = key, len(p.chunks), total
	return nil
}

func (p *preparer) flushPart(ctx context.Context) error {
	if p.partRows == 0 {
		return nil
	}
	c := Chunk{JobID: p.job.ID, TenantID: p.job.TenantID, Index: len(p.chunks),
		FirstRow: p.partFrom, LastRow: p.partTo, Rows: p.partRows}
	c.Key = partKey(c.TenantID, c.JobID, c.Index)
	if err := p.d.Store.Put(ctx, c.Key, bytes.NewReader(p.part.Bytes())); err != nil {
		return &TransientError{Err: fmt.Errorf("write chunk part %d: %w", c.Index, err)}
	}
	p.chunks = append(p.chunks, c)
	p.part.Reset()
	p.partRows = 0
	return nil
}

// reportRow adds a line to the error report, starting the report's upload
// at the first bad row.
func (p *preparer) reportRow(ctx context.Context, header []string, rec readers.Record, result, msg string) error {
	if p.report == nil {
		p.report = startErrorReport(ctx, p.d.Store, errorReportKey(p.job.TenantID, p.job.ID), header)
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
}

func startErrorReport(ctx context.Context, store objstore.Store, key string, header []string) *errorReport {
	pr, pw := io.Pipe()
	r := &errorReport{pw: pw, w: csv.NewWriter(pw), done: make(chan error, 1)}
	go func() {
		err := store.Put(ctx, key, pr)
		pr.CloseWithError(err)
		r.done <- err
	}()
	r.w.Write(append([]string{"row", "result", "errors"}, header...))
	return r
}

func (r *errorReport) write(rec readers.Record, result, msg string) error {
	return r.w.Write(append([]string{strconv.Itoa(rec.Row), result, msg}, rec.Values...))
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

// classify turns the errors of the steps into the types the state machine
// matches: file and mapping problems are *InputError; database and storage
// outages are *TransientError.
func classify(err error) error {
	var fe *readers.FileError
	var me *mapping.Error
	var ie *InputError
	var te *TransientError
	switch {
	case errors.As(err, &ie), errors.As(err, &te):
		return err
	case errors.As(err, &fe):
		return &InputError{Msg: fe.Error()}
	case errors.As(err, &me):
		return &InputError{Msg: me.Error()}
	case errors.Is(err, jobs.ErrNotFound):
		return inputErrorf("import job not found")
	case postgres.IsConnectionError(err), postgres.IsRetryable(err):
		return &TransientError{Err: err}
	}
	return err
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
