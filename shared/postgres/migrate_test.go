package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/portagehq/portage/migrations"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// Migration 9 gives cancelled imports their own status: the jobs an earlier
// version failed with reason "cancelled", of every tenant (row-level
// security binds the migrating owner too), become cancelled, and the other
// failed jobs stay failed. Down gives the old form back.
func TestMigrationCancelledStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	type job struct {
		id, tenant uuid.UUID
		reason     string
	}
	var jobs []job
	for _, reason := range []string{"cancelled", "the file is empty", "cancelled"} {
		tenant := uuid.New()
		j := job{id: uuid.New(), tenant: tenant, reason: reason}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`SELECT set_config('portage.tenant_id', $1::text, true)`,
			`INSERT INTO tenants (id, name) VALUES ($1, 'tenant')`,
		} {
			if _, err := tx.ExecContext(ctx, q, tenant); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_jobs (id, tenant_id, file_name, status) VALUES ($1, $2, 'f.csv', 'failed')`, j.id, tenant); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_job_details (import_job_id, tenant_id, source_key, failure_reason) VALUES ($1, $2, 'k', $3)`, j.id, tenant, reason); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	read := func(j job, tenant uuid.UUID) (status string, reason sql.NullString) {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // read only
		if _, err := tx.ExecContext(ctx, `SELECT set_config('portage.tenant_id', $1::text, true)`, tenant); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT j.status, d.failure_reason FROM import_jobs j
			JOIN import_job_details d ON d.import_job_id = j.id WHERE j.id = $1`, j.id).Scan(&status, &reason); err != nil {
			t.Fatal(err)
		}
		return status, reason
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		status, reason := read(j, j.tenant)
		want := "failed"
		if j.reason == "cancelled" {
			want = "cancelled"
		}
		if status != want || (want == "cancelled") == reason.Valid {
			t.Errorf("job failed %q: now %s, reason %v; want %s", j.reason, status, reason, want)
		}
	}
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if status, reason := read(j, j.tenant); status != "failed" || reason.String != j.reason {
			t.Errorf("after down, job failed %q: %s, reason %v", j.reason, status, reason)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
}
