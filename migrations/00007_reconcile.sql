-- +goose Up

-- The reconciler runs on the sweeper's schedule, as portage_sweeper: it
-- finds, across tenants, the import and export jobs that have not ended
-- (and sees nothing else of them), then fails a stranded one in a
-- transaction scoped to its tenant, where the tenant policies apply as they
-- do to the application.
GRANT SELECT, UPDATE ON import_jobs TO portage_sweeper;
GRANT SELECT, UPDATE ON import_job_details TO portage_sweeper;
GRANT SELECT ON import_chunks TO portage_sweeper;
GRANT UPDATE ON export_job_details TO portage_sweeper;
CREATE POLICY reconcile_open ON import_jobs FOR SELECT TO portage_sweeper
  USING (status IN ('pending', 'processing'));
CREATE POLICY reconcile_open ON export_jobs FOR SELECT TO portage_sweeper
  USING (status IN ('pending', 'processing'));

-- +goose Down
DROP POLICY reconcile_open ON export_jobs;
DROP POLICY reconcile_open ON import_jobs;
REVOKE UPDATE ON export_job_details FROM portage_sweeper;
REVOKE SELECT ON import_chunks FROM portage_sweeper;
REVOKE SELECT, UPDATE ON import_job_details FROM portage_sweeper;
REVOKE SELECT, UPDATE ON import_jobs FROM portage_sweeper;
