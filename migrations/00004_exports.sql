-- +goose Up

-- export_job_details holds what an export needs beside the seed's columns.
CREATE TABLE export_job_details (
  export_job_id UUID PRIMARY KEY REFERENCES export_jobs(id),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  segment_id UUID REFERENCES segments(id),
  object_key TEXT,
  -- formula_safe false writes csv values unchanged (round trips, migrations).
  formula_safe BOOLEAN NOT NULL DEFAULT true,
  failure_reason TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE export_job_details ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_job_details FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON export_job_details
  USING (tenant_id = portage_current_tenant()) WITH CHECK (tenant_id = portage_current_tenant());
GRANT SELECT, INSERT, UPDATE ON export_job_details TO portage_app;
CREATE INDEX idx_export_jobs_expires ON export_jobs (expires_at) WHERE status = 'completed';

-- The export sweeper works across tenants on expired exports only: its role
-- sees an export job once expires_at has passed, and nothing else.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portage_sweeper') THEN
    CREATE ROLE portage_sweeper NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
-- +goose StatementEnd
GRANT USAGE ON SCHEMA public TO portage_sweeper;
GRANT SELECT, UPDATE ON export_jobs TO portage_sweeper;
GRANT SELECT ON export_job_details TO portage_sweeper;
CREATE POLICY sweeper_expired ON export_jobs FOR ALL TO portage_sweeper
  USING (expires_at < (now() AT TIME ZONE 'UTC'))
  WITH CHECK (expires_at < (now() AT TIME ZONE 'UTC'));
CREATE POLICY sweeper_expired ON export_job_details FOR SELECT TO portage_sweeper
  USING (EXISTS (SELECT 1 FROM export_jobs j WHERE j.id = export_job_id));

-- +goose Down
DROP POLICY sweeper_expired ON export_job_details;
DROP POLICY sweeper_expired ON export_jobs;
DROP INDEX idx_export_jobs_expires;
DROP TABLE export_job_details;
