-- +goose Up

-- The reconciler also resumes rollbacks that stalled (their execution lost
-- or failed): it sees, across tenants, the jobs rolling back and when their
-- rollback last moved, and nothing else of them.
ALTER POLICY reconcile_open ON import_jobs USING (status IN ('pending', 'awaiting_review', 'processing', 'rolling_back'));
CREATE POLICY reconcile_rollbacks ON import_job_details FOR SELECT TO portage_sweeper
  USING (EXISTS (SELECT 1 FROM import_jobs j WHERE j.id = import_job_id AND j.status = 'rolling_back'));

-- +goose Down
DROP POLICY reconcile_rollbacks ON import_job_details;
ALTER POLICY reconcile_open ON import_jobs USING (status IN ('pending', 'awaiting_review', 'processing'));
