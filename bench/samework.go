package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The same-work baseline: what the seed asks of an import (each contact and
// its import_events row with full snapshots), done the way bulk loaders do
// it. The file goes into staging with COPY, then one statement writes the
// contacts and, from what it returned, their events. The tables have
// contacts' and import_events' definitions, indexes and foreign keys, and
// no row-level security. It is the limit for that work on this machine.

// sameWorkTables are created beside the contacts-only baseline's
// bench_contacts.
const sameWorkTables = `
	CREATE TABLE bench_events (LIKE import_events INCLUDING ALL,
		FOREIGN KEY (import_job_id) REFERENCES import_jobs (id), FOREIGN KEY (contact_id) REFERENCES bench_contacts (id));`

// benchSnapshot is contacts.Snapshot for a bench_contacts row.
const benchSnapshot = `(to_jsonb(c.*) - 'email_key')`

// sameWorkStart creates the import_jobs row the baseline's events
// reference and loads the file into staging.
func (b *bench) sameWorkStart(ctx context.Context, path string, tenant uuid.UUID) (uuid.UUID, error) {
	id := uuid.New()
	if _, err := b.admin.Exec(ctx, `INSERT INTO import_jobs (id, tenant_id, status) VALUES ($1, $2, 'processing')`, id, tenant); err != nil {
		return id, err
	}
	return id, b.copyStaging(ctx, path)
}

// sameWorkNew creates the file's n contacts for tenant and a "created"
// event for each, holding the row as written.
func (b *bench) sameWorkNew(ctx context.Context, path string, tenant uuid.UUID, n int) (time.Duration, error) {
	start := time.Now()
	job, err := b.sameWorkStart(ctx, path, tenant)
	if err != nil {
		return 0, err
	}
	tag, err := b.admin.Exec(ctx, `
		WITH c AS (
			INSERT INTO bench_contacts (id, tenant_id, email, first_name, last_name, phone, company, job_title,
				city, country, postal_code, tags, custom_fields, created_at, updated_at)
			SELECT gen_random_uuid(), $1::uuid, lower(btrim(email)), first_name, last_name, phone, company, job_title,
				city, country, postal_code, string_to_array(tags, ','), '{}'::jsonb, now(), now()
			FROM bench_staging
			RETURNING *)
		INSERT INTO bench_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
		SELECT gen_random_uuid(), $2, c.id, 'created', NULL, `+benchSnapshot+`, now() AT TIME ZONE 'UTC' FROM c`, tenant, job)
	if err != nil {
		return 0, err
	}
	if int(tag.RowsAffected()) != n {
		return 0, fmt.Errorf("same-work baseline wrote %d events for %d rows", tag.RowsAffected(), n)
	}
	return time.Since(start), nil
}

// sameWorkUpdate overwrites tenant's contacts that the file matches and
// records an "updated" event for each with the snapshot before (the
// statement's sub-queries share one snapshot, so prev reads the rows as
// they were; the UPDATE takes the locks: a FOR UPDATE in prev would make
// the UPDATE skip the rows its own statement locked) and after.
func (b *bench) sameWorkUpdate(ctx context.Context, path string, tenant uuid.UUID) (time.Duration, error) {
	start := time.Now()
	job, err := b.sameWorkStart(ctx, path, tenant)
	if err != nil {
		return 0, err
	}
	tag, err := b.admin.Exec(ctx, `
		WITH prev AS (
			SELECT c.id, `+benchSnapshot+` AS snap FROM bench_contacts c JOIN bench_staging s
				ON c.tenant_id = $1 AND c.deleted_at IS NULL AND c.email IS NOT NULL AND c.email_key = lower(btrim(s.email))),
		c AS (
			UPDATE bench_contacts c SET first_name = s.first_name, last_name = s.last_name, phone = s.phone, company = s.company,
				job_title = s.job_title, city = s.city, country = s.country, postal_code = s.postal_code,
				tags = string_to_array(s.tags, ','), updated_at = now()
			FROM bench_staging s
			WHERE c.tenant_id = $1 AND c.deleted_at IS NULL AND c.email IS NOT NULL AND c.email_key = lower(btrim(s.email))
			RETURNING c.*)
		INSERT INTO bench_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
		SELECT gen_random_uuid(), $2, c.id, 'updated', prev.snap, `+benchSnapshot+`, now() AT TIME ZONE 'UTC'
		FROM c JOIN prev ON prev.id = c.id`, tenant, job)
	if err != nil {
		return 0, err
	}
	if int(tag.RowsAffected()) != b.rows {
		return 0, fmt.Errorf("same-work update baseline wrote %d events for %d rows", tag.RowsAffected(), b.rows)
	}
	return time.Since(start), nil
}

// pgMicros is the PostgreSQL CPU (every postgres process: backends and the
// background writers the work wakes) per row since before, in µs.
func pgMicros(before cpuSample, rows int) float64 {
	d := sampleCPU()["postgres"] - before["postgres"]
	if d < 0 || rows == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(rows)
}
