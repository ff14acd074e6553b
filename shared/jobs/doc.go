// Package jobs owns the import_jobs table (the seed's columns) and the
// import_job_details beside it: creating a job, reading it, and its status
// transitions. Every function takes a transaction already scoped to the
// tenant (postgres.InTenantTx) so callers own the transaction.
package jobs
