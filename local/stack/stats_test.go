package stack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/jobs"
)

// A new customer's second import (the usual "fix my data" update) and its
// undo, into a tenant of 100,000 contacts that the statistics have never
// seen: ANALYZE ran while another tenant held the table, and autovacuum is
// off so that nothing refreshes them. Both finish, and the undo gives every
// contact its values back. Under plans made from those statistics each
// chunk's update and each undo batch walked the whole tenant per row of
// the chunk, past the statement timeout.
func TestUpdateAndUndoIntoATenantTheStatisticsNeverSaw(t *testing.T) {
	t.Parallel()
	const tenantSize, updated = 100000, 10000
	e := newEnvWith(t, 5000, func(c *stack.Config) { c.RollbackBatch = 5000 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	owner := e.owner(t)
	other := uuid.New()
	for _, q := range []string{
		`ALTER TABLE contacts SET (autovacuum_enabled = false)`,
		`SELECT set_config('portage.tenant_id', '` + other.String() + `', false)`,
		`INSERT INTO tenants (id, name) VALUES ('` + other.String() + `', 'bystander')`,
		`INSERT INTO contacts (id, tenant_id, email) SELECT gen_random_uuid(), '` + other.String() + `', 'b' || g || '@example.com' FROM generate_series(1, 2000) g`,
		`ANALYZE contacts`,
		`SELECT set_config('portage.tenant_id', '` + e.tenant.String() + `', false)`,
		`INSERT INTO tenants (id, name) VALUES ('` + e.tenant.String() + `', 'new customer') ON CONFLICT DO NOTHING`,
		`INSERT INTO contacts (id, tenant_id, email, company) SELECT gen_random_uuid(), '` + e.tenant.String() + `', 'c' || g || '@example.com', 'Before' FROM generate_series(1, ` + fmt.Sprint(tenantSize) + `) g`,
	} {
		if _, err := owner.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	var file strings.Builder
	file.WriteString("email,company\n")
	for i := range updated {
		fmt.Fprintf(&file, "c%d@example.com,After\n", i*(tenantSize/updated)+1)
	}
	j, err := e.api.ImportFile(ctx, writeFile(t, "fix.csv", file.String()),
		client.ImportRequest{ImportOptions: &jobs.Options{DuplicateStrategy: jobs.Update}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.api.Wait(ctx, j.ID.String(), 100*time.Millisecond, nil)
	if err != nil || done.Status != jobs.StatusCompleted || done.UpdatedCount != updated {
		t.Fatalf("update import: %s, %v", counts(done), err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE company = 'After'`); n != updated {
		t.Fatalf("%d contacts updated, want %d", n, updated)
	}
	if _, err := e.api.Rollback(ctx, j.ID.String()); err != nil {
		t.Fatal(err)
	}
	undone, err := e.api.Wait(ctx, j.ID.String(), 100*time.Millisecond, nil)
	if err != nil || undone.Status != jobs.StatusRolledBack || undone.Rollback == nil || undone.Rollback.Conflicts != 0 {
		t.Fatalf("undo: %s, %v", undone.Status, err)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE company = 'Before' AND deleted_at IS NULL`); n != tenantSize {
		t.Fatalf("%d contacts hold their values after the undo, want %d", n, tenantSize)
	}
}
