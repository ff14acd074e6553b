// Package jobs owns the job tables: import_jobs (the seed's columns) and
// import_job_details beside it, import_chunks (each chunk's result, the key
// of a chunk's idempotency), export_jobs and export_job_details. Every
// statement on them is here, named for what it does, and every change of
// an import's status checks Transitions, the one table of the moves a job
// may make. Functions take a transaction already scoped to the tenant
// (postgres.InTenantTx), so callers own the transaction; the ones in
// sweep.go see every tenant and run as the sweeper's role.
package jobs
