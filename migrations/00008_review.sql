-- +goose Up

-- The review step (docs/design.md, "Review before import"). A job created
-- with review waits in status awaiting_review after its Inspect task:
-- inspection is what the person reviews (GET /v1/imports/{id}/preview);
-- task_token is the Step Functions callback token that POST .../start
-- hands back (SendTaskSuccess), never shown to a client. A cancel asked
-- while chunks run is cancel_requested_at: chunks that have not started
-- skip, and finalize ends the job failed with reason "cancelled".
ALTER TABLE import_job_details
  ADD COLUMN review BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN task_token TEXT,
  ADD COLUMN inspection JSONB,
  ADD COLUMN cancel_requested_at TIMESTAMPTZ;

-- The seed's statuses (pending, processing, completed, failed, rolled_back)
-- and the ones the pipeline added, where psql's \d+ shows them.
COMMENT ON COLUMN import_jobs.status IS
  'pending (waiting for the upload, or started after review) | awaiting_review (inspected, waiting for a person: POST /v1/imports/{id}/start or /cancel) | processing | completed | failed (failure_reason in import_job_details; "cancelled" when a person cancelled) | rolling_back | rolled_back';

-- Why rows were skipped, per chunk (their sum is skipped_count), and the
-- first rows skipped as repeats of an earlier row of the file.
ALTER TABLE import_chunks
  ADD COLUMN skipped_in_file_duplicates INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN skipped_unchanged INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN skipped_by_strategy INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN skipped_no_match INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN duplicates JSONB NOT NULL DEFAULT '[]';

-- The reconciler also sees imports waiting for review: one whose execution
-- is gone would wait forever.
ALTER POLICY reconcile_open ON import_jobs USING (status IN ('pending', 'awaiting_review', 'processing'));

-- Mapping memory: the mapping a tenant last confirmed for a set of
-- headers (header_key is a hash of them, normalized), suggested for the
-- next file with the same headers.
CREATE TABLE import_mappings (
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  header_key TEXT NOT NULL,
  header JSONB NOT NULL,
  field_mapping JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, header_key)
);
ALTER TABLE import_mappings ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_mappings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_mappings
  USING (tenant_id = portage_current_tenant()) WITH CHECK (tenant_id = portage_current_tenant());
GRANT SELECT, INSERT, UPDATE ON import_mappings TO portage_app;

-- +goose Down
ALTER POLICY reconcile_open ON import_jobs USING (status IN ('pending', 'processing'));
COMMENT ON COLUMN import_jobs.status IS NULL;
ALTER TABLE import_chunks DROP COLUMN skipped_in_file_duplicates, DROP COLUMN skipped_unchanged,
  DROP COLUMN skipped_by_strategy, DROP COLUMN skipped_no_match, DROP COLUMN duplicates;
DROP TABLE import_mappings;
ALTER TABLE import_job_details
  DROP COLUMN review, DROP COLUMN task_token, DROP COLUMN inspection, DROP COLUMN cancel_requested_at;
