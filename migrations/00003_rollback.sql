-- +goose Up

-- import_event_reversals records what a rollback did with each event of the
-- job: the idempotency record of the batches (an event with a row here is
-- done) and the conflicts it reports.
CREATE TABLE import_event_reversals (
  event_id UUID PRIMARY KEY REFERENCES import_events(id),
  import_job_id UUID NOT NULL REFERENCES import_jobs(id),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  outcome TEXT NOT NULL CHECK (outcome IN ('reverted', 'conflict', 'untouched')),
  conflict JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Batches go newest first and commit whole, so the reversed events are
-- always the newest ones: the oldest of them is where the next batch starts.
CREATE INDEX idx_import_event_reversals_job ON import_event_reversals (import_job_id, event_id);
CREATE INDEX idx_import_events_job_order ON import_events (import_job_id, id);

ALTER TABLE import_event_reversals ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_event_reversals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_event_reversals
  USING (tenant_id = portage_current_tenant()) WITH CHECK (tenant_id = portage_current_tenant());
GRANT SELECT, INSERT ON import_event_reversals TO portage_app;

-- Rollback progress beside the seed's columns.
ALTER TABLE import_job_details
  ADD COLUMN rollback_events INTEGER,
  ADD COLUMN rollback_done INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN rollback_conflicts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN rollback_started_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE import_job_details
  DROP COLUMN rollback_events, DROP COLUMN rollback_done, DROP COLUMN rollback_conflicts, DROP COLUMN rollback_started_at;
DROP INDEX idx_import_events_job_order;
DROP TABLE import_event_reversals;
