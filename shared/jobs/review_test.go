package jobs_test

import (
	"context"
	"maps"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// A confirmed mapping comes back for the same headers in any order or
// case, spelled as the new file spells them, and only to its tenant.
func TestMappingMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	tenant, other := pgtest.Tenant(t, db), pgtest.Tenant(t, db)
	pgtest.InTx(t, db, tenant, func(tx pgx.Tx) error {
		return jobs.RememberMapping(ctx, tx, tenant, []string{"E-mail", "Given Name", "Notes"},
			map[string]string{"E-mail": "email", "Given Name": "first_name", "Notes": ""})
	})
	recall := func(tn uuid.UUID, header ...string) map[string]string {
		var got map[string]string
		pgtest.InTx(t, db, tn, func(tx pgx.Tx) (err error) {
			got, err = jobs.RecallMapping(ctx, tx, header)
			return err
		})
		return got
	}
	want := map[string]string{"notes": "", "e-mail": "email", "GIVEN NAME": "first_name"}
	if got := recall(tenant, "notes", "e-mail", "GIVEN NAME"); !maps.Equal(got, want) {
		t.Errorf("same headers: got %v, want %v", got, want)
	}
	if got := recall(tenant, "E-mail", "Given Name"); got != nil {
		t.Errorf("other headers: got %v, want nothing", got)
	}
	if got := recall(other, "E-mail", "Given Name", "Notes"); got != nil {
		t.Errorf("another tenant got %v", got)
	}
}
