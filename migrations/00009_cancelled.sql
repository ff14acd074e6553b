-- +goose Up

-- A cancelled import has its own status (it used to be failed with reason
-- "cancelled"): a person stopped it, nothing failed. Nothing is saved after
-- the cancel, so its counters are those of the chunks that had committed.
-- Every tenant's jobs move: row-level security is lifted for the owner for
-- this transaction only, and forced again at its end.
ALTER TABLE import_jobs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE import_job_details NO FORCE ROW LEVEL SECURITY;
UPDATE import_jobs j SET status = 'cancelled'
  FROM import_job_details d
  WHERE d.import_job_id = j.id AND j.status = 'failed' AND d.failure_reason = 'cancelled';
UPDATE import_job_details d SET failure_reason = NULL
  FROM import_jobs j
  WHERE d.import_job_id = j.id AND j.status = 'cancelled';
ALTER TABLE import_jobs FORCE ROW LEVEL SECURITY;
ALTER TABLE import_job_details FORCE ROW LEVEL SECURITY;

COMMENT ON COLUMN import_jobs.status IS
  'pending (waiting for the upload, or started after review) | awaiting_review (inspected, waiting for a person: POST /v1/imports/{id}/start or /cancel) | processing | completed | failed (failure_reason in import_job_details) | cancelled (a person stopped it; what had been saved is counted and can be rolled back) | rolling_back | rolled_back';

-- +goose Down

ALTER TABLE import_jobs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE import_job_details NO FORCE ROW LEVEL SECURITY;
UPDATE import_job_details d SET failure_reason = 'cancelled'
  FROM import_jobs j
  WHERE d.import_job_id = j.id AND j.status = 'cancelled';
UPDATE import_jobs SET status = 'failed' WHERE status = 'cancelled';
ALTER TABLE import_jobs FORCE ROW LEVEL SECURITY;
ALTER TABLE import_job_details FORCE ROW LEVEL SECURITY;

COMMENT ON COLUMN import_jobs.status IS
  'pending (waiting for the upload, or started after review) | awaiting_review (inspected, waiting for a person: POST /v1/imports/{id}/start or /cancel) | processing | completed | failed (failure_reason in import_job_details; "cancelled" when a person cancelled) | rolling_back | rolled_back';
