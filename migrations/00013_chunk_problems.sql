-- +goose Up

-- How many rows of a chunk had each problem (message → rows), all of them,
-- where errors keeps only the first 100: what a job's page sums to say
-- "1,950 × the domain has no dot" instead of a list cut at 100.
ALTER TABLE import_chunks ADD COLUMN problems JSONB NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE import_chunks DROP COLUMN problems;
