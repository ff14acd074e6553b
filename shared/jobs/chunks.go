package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ChunkClaim names a chunk an invocation is about to apply.
type ChunkClaim struct {
	JobID, TenantID   uuid.UUID
	Index             int
	FirstRow, LastRow int
	Rows              int
}

// ClaimChunk claims a chunk for this transaction and reports whether it was
// free. A concurrent attempt at the same chunk waits on the primary key
// until this transaction ends, then finds it claimed (and its result
// recorded, RecordedChunk).
func ClaimChunk(ctx context.Context, tx pgx.Tx, c ChunkClaim) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO import_chunks (import_job_id, chunk_index, tenant_id, first_row, last_row, row_count)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		c.JobID, c.Index, c.TenantID, c.FirstRow, c.LastRow, c.Rows)
	if err != nil {
		return false, fmt.Errorf("claim chunk %d of job %s: %w", c.Index, c.JobID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ChunkCounts are what one chunk did: Created + Updated + Skipped + Errors
// = Rows, and Skipped is the sum of SkippedBy.
type ChunkCounts struct {
	Rows      int   `json:"rows"`
	Created   int   `json:"created"`
	Updated   int   `json:"updated"`
	Skipped   int   `json:"skipped"`
	Errors    int   `json:"errors"`
	SkippedBy Skips `json:"skipped_by"`
}

// Skips say why rows were skipped.
type Skips struct {
	// InFileDuplicates repeat the email of an earlier row of the file.
	InFileDuplicates int `json:"in_file_duplicates"`
	// Unchanged matched a contact the row would not change.
	Unchanged int `json:"unchanged"`
	// KeptByStrategy matched a contact the duplicate strategy (skip) left
	// as it was.
	KeptByStrategy int `json:"kept_by_strategy"`
	// NoMatch had no contact to update (update_only).
	NoMatch int `json:"no_match"`
}

// Total is the rows skipped.
func (s Skips) Total() int { return s.InFileDuplicates + s.Unchanged + s.KeptByStrategy + s.NoMatch }

// Duplicate is a row skipped because an earlier row of the file has its
// email.
type Duplicate struct {
	Row         int `json:"row"`
	DuplicateOf int `json:"duplicate_of"`
}

// RecordChunk records a claimed chunk's result (with up to the first row
// errors and in-file duplicates, as JSON) and adds its rows to the job's processed_rows. The job
// row is updated last, so its lock is held for as short a time as possible.
func RecordChunk(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, index int, c ChunkCounts, errs, dups json.RawMessage, problems map[string]int) error {
	if problems == nil {
		problems = map[string]int{}
	}
	probs, err := json.Marshal(problems)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		UPDATE import_chunks SET created_count = $3, updated_count = $4, skipped_count = $5, error_count = $6,
			errors = $7, skipped_in_file_duplicates = $8, skipped_unchanged = $9, skipped_by_strategy = $10,
			skipped_no_match = $11, duplicates = $12, problems = $13, completed_at = now()
		WHERE import_job_id = $1 AND chunk_index = $2`,
		jobID, index, c.Created, c.Updated, c.Skipped, c.Errors, string(errs), c.SkippedBy.InFileDuplicates,
		c.SkippedBy.Unchanged, c.SkippedBy.KeptByStrategy, c.SkippedBy.NoMatch, string(dups), string(probs)); err != nil {
		return fmt.Errorf("record chunk %d of job %s: %w", index, jobID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE import_jobs SET processed_rows = coalesce(processed_rows, 0) + $2 WHERE id = $1`,
		jobID, c.Rows); err != nil {
		return fmt.Errorf("count the processed rows of job %s: %w", jobID, err)
	}
	return nil
}

// RecordedChunk reads the result an earlier attempt recorded for a chunk.
func RecordedChunk(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, index int) (ChunkCounts, error) {
	var c ChunkCounts
	err := tx.QueryRow(ctx, `
		SELECT row_count, created_count, updated_count, skipped_count, error_count,
			skipped_in_file_duplicates, skipped_unchanged, skipped_by_strategy, skipped_no_match
		FROM import_chunks WHERE import_job_id = $1 AND chunk_index = $2`, jobID, index).
		Scan(&c.Rows, &c.Created, &c.Updated, &c.Skipped, &c.Errors,
			&c.SkippedBy.InFileDuplicates, &c.SkippedBy.Unchanged, &c.SkippedBy.KeptByStrategy, &c.SkippedBy.NoMatch)
	if err != nil {
		return c, fmt.Errorf("read the recorded result of chunk %d of job %s: %w", index, jobID, err)
	}
	return c, nil
}

// ChunkSums are the counters of the chunks of a job applied so far.
type ChunkSums struct {
	Chunks, Rows, Created, Updated, Skipped, Errors int
	SkippedBy                                       Skips
}

// SumChunks adds up the results of a job's applied chunks: what finalize
// completes a job with, and what a stranded job is failed with.
func SumChunks(ctx context.Context, tx pgx.Tx, id uuid.UUID) (ChunkSums, error) {
	var c ChunkSums
	err := tx.QueryRow(ctx, `
		SELECT count(*), coalesce(sum(row_count), 0), coalesce(sum(created_count), 0),
			coalesce(sum(updated_count), 0), coalesce(sum(skipped_count), 0), coalesce(sum(error_count), 0),
			coalesce(sum(skipped_in_file_duplicates), 0), coalesce(sum(skipped_unchanged), 0),
			coalesce(sum(skipped_by_strategy), 0), coalesce(sum(skipped_no_match), 0)
		FROM import_chunks WHERE import_job_id = $1`, id).
		Scan(&c.Chunks, &c.Rows, &c.Created, &c.Updated, &c.Skipped, &c.Errors,
			&c.SkippedBy.InFileDuplicates, &c.SkippedBy.Unchanged, &c.SkippedBy.KeptByStrategy, &c.SkippedBy.NoMatch)
	if err != nil {
		return c, fmt.Errorf("sum the chunks of job %s: %w", id, err)
	}
	return c, nil
}

// SetCounts makes a job's counters those of its applied chunks.
func SetCounts(ctx context.Context, tx pgx.Tx, id uuid.UUID, c ChunkSums) error {
	_, err := tx.Exec(ctx, `UPDATE import_jobs SET processed_rows = $2, created_count = $3, updated_count = $4,
		skipped_count = $5, error_count = $6, imported_count = $7 WHERE id = $1`,
		id, c.Rows, c.Created, c.Updated, c.Skipped, c.Errors, c.Created+c.Updated)
	if err != nil {
		return fmt.Errorf("count job %s: %w", id, err)
	}
	return nil
}

// Problem is a kind of row error and how many rows had it.
type Problem struct {
	Message string `json:"message"`
	Rows    int    `json:"rows"`
}

// Problems sums the problems of a job's applied chunks, the most frequent
// first, at most n of them.
func Problems(ctx context.Context, tx pgx.Tx, id uuid.UUID, n int) ([]Problem, error) {
	rows, err := tx.Query(ctx, `
		SELECT p.key, sum(p.value::int)::int FROM import_chunks c, jsonb_each_text(c.problems) AS p
		WHERE c.import_job_id = $1 AND c.completed_at IS NOT NULL
		GROUP BY p.key ORDER BY 2 DESC, 1 LIMIT $2`, id, n)
	if err != nil {
		return nil, fmt.Errorf("sum the problems of job %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Problem, error) {
		var p Problem
		err := r.Scan(&p.Message, &p.Rows)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("sum the problems of job %s: %w", id, err)
	}
	return out, nil
}

// FirstChunkErrors returns the first n row errors of the chunks applied so
// far, in row order: what a job still processing can show.
func FirstChunkErrors(ctx context.Context, tx pgx.Tx, id uuid.UUID, n int) (json.RawMessage, error) {
	return firstOfChunks(ctx, tx, id, "errors", n)
}

// FirstChunkDuplicates returns the first n rows skipped as in-file
// duplicates, in row order.
func FirstChunkDuplicates(ctx context.Context, tx pgx.Tx, id uuid.UUID, n int) (json.RawMessage, error) {
	return firstOfChunks(ctx, tx, id, "duplicates", n)
}

// firstOfChunks gathers the first n elements of a JSON array column of the
// job's chunks (errors or duplicates: a fixed column name), in chunk order.
func firstOfChunks(ctx context.Context, tx pgx.Tx, id uuid.UUID, column string, n int) (json.RawMessage, error) {
	var out json.RawMessage
	err := tx.QueryRow(ctx, `
		SELECT coalesce(jsonb_agg(e ORDER BY ci, n), '[]') FROM (
			SELECT c.chunk_index AS ci, x.n, x.e FROM import_chunks c,
				jsonb_array_elements(c.`+column+`) WITH ORDINALITY AS x(e, n)
			WHERE c.import_job_id = $1 ORDER BY c.chunk_index, x.n LIMIT $2) firsts`, id, n).Scan(&out)
	if err != nil {
		return nil, fmt.Errorf("first %s of import job %s: %w", column, id, err)
	}
	return out, nil
}
