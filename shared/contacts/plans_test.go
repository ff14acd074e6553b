package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// bigTenant is how many contacts the importing tenant holds when the plans
// are made: enough that a plan walking them per chunk would show, as it
// did, as minutes a chunk.
const bigTenant = 50000

// statsStates are the statistics a table can hold when a tenant's contacts
// arrive faster than ANALYZE follows them. Each prepares db before the big
// tenant's contacts go in, as the owner (which may ANALYZE and VACUUM).
var statsStates = []struct {
	name    string
	prepare func(t *testing.T, db *pgxpool.Pool)
}{
	// As migrated: the table was analyzed empty.
	{"NewTable", func(*testing.T, *pgxpool.Pool) {}},
	// Vacuumed after its rows were deleted: its pages and indexes are
	// believed to hold nothing.
	{"EmptiedAndVacuumed", func(t *testing.T, db *pgxpool.Pool) {
		other := pgtest.Tenant(t, db)
		fill(t, db, other, 3000)
		exec(t, db, `DELETE FROM contacts`)
		exec(t, db, `VACUUM contacts`)
	}},
	// Analyzed while each of a few tenants held one contact: every tenant
	// looks like one row.
	{"AnalyzedSmall", func(t *testing.T, db *pgxpool.Pool) {
		for range 50 {
			fill(t, db, pgtest.Tenant(t, db), 1)
		}
		exec(t, db, `ANALYZE contacts`)
	}},
	// Analyzed while another tenant held the table: the importing tenant
	// is not in the statistics.
	{"TenantNotSeen", func(t *testing.T, db *pgxpool.Pool) {
		fill(t, db, pgtest.Tenant(t, db), 5000)
		exec(t, db, `ANALYZE contacts`)
	}},
	// Many tiny tenants, then one big importer.
	{"ManyTinyTenants", func(t *testing.T, db *pgxpool.Pool) {
		for range 3000 {
			fill(t, db, pgtest.Tenant(t, db), 3)
		}
		exec(t, db, `ANALYZE contacts`)
	}},
}

func fill(t *testing.T, db *pgxpool.Pool, tenant uuid.UUID, n int) {
	t.Helper()
	pgtest.InTx(t, db, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO contacts (id, tenant_id, email)
			SELECT gen_random_uuid(), $1, 'c' || g || '@example.com' FROM generate_series(1, $2::int) g`, tenant, n)
		return err
	})
}

func exec(t *testing.T, db *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestPlansProbeWhateverTheStatistics EXPLAINs every statement a chunk or a
// rollback batch runs on contacts, with a chunk's worth of real arguments,
// in every statistics state above, and fails on a plan that reaches the
// contacts other than by a probe a row (an index condition on the key or
// the id, or a ctid): a plan that scans the tenant's contacts per chunk or
// per batch costs as much as the tenant holds, and it is what statistics
// that lag behind an import choose.
func TestPlansProbeWhateverTheStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, st := range statsStates {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			st.prepare(t, db)
			tenant := pgtest.Tenant(t, db)
			fill(t, db, tenant, bigTenant)
			keys := make([]string, 5000)
			for i := range keys {
				// Half match a contact, half are new.
				keys[i] = fmt.Sprintf("c%d@example.com", i*2+1)
			}
			pgtest.InTx(t, db, tenant, func(tx pgx.Tx) error {
				// As a chunk runs them: after Begin's settings.
				w, err := Begin(ctx, tx, uuid.New())
				if err != nil {
					return err
				}
				for _, name := range []string{"find_live", "find_live_locked"} {
					expectProbes(t, tx, name, tenant, keys)
				}
				matches, err := FindLive(ctx, tx, tenant, keys, true)
				if err != nil {
					return err
				}
				var rows []Row
				var prev []Match
				var batch []Reverting
				for _, m := range matches {
					r := m.Row
					acme := "Acme"
					r.Values[Company] = &acme
					rows, prev = append(rows, r), append(prev, m)
					batch = append(batch, Reverting{Loc: m.Loc, PreviousData: m.Snapshot})
				}
				if len(rows) != bigTenant/10 {
					t.Fatalf("%d matches, want %d", len(rows), bigTenant/10)
				}
				contactArgs, _, err := w.updateArgs(rows, prev)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, byLocation.set); err != nil {
					return err
				}
				expectProbes(t, tx, "update", contactArgs...)
				var locs, prevs arrayBuilder
				for _, r := range batch {
					locs.add(r.Loc)
					prevs.add(string(r.PreviousData))
				}
				expectProbes(t, tx, "soft_delete", locs.String())
				expectProbes(t, tx, "restore", locs.String(), prevs.String())
				if _, err := tx.Exec(ctx, byLocation.reset); err != nil {
					return err
				}
				// The batch's events: any job's (the plan starts from the
				// events' index whatever they hold).
				if _, err := tx.Exec(ctx, inIndexOrder.set); err != nil {
					return err
				}
				expectProbes(t, tx, "rollback_batch", uuid.New(), 5000)
				if _, err := tx.Exec(ctx, inIndexOrder.reset); err != nil {
					return err
				}
				var events, ids arrayBuilder
				for _, m := range prev {
					events.add(uuid.New().String())
					ids.add(m.Row.ID.String())
				}
				expectEvents(t, tx, "undone_before", "contact_id = ", events.String(), ids.String(), prevs.String())
				return nil
			})
		})
	}
}

// expectProbes EXPLAINs the named statement with args and fails the test
// unless every scan of contacts in its plan probes by key, id or ctid (and
// import_events are read by job, from where the last batch stopped).
func expectProbes(t *testing.T, tx pgx.Tx, name string, args ...any) {
	t.Helper()
	expectPlan(t, tx, name, "import_job_id = ", true, args...)
}

// expectEvents is expectProbes for a statement that reads import_events
// (through an index condition holding eventsBy) and no contacts.
func expectEvents(t *testing.T, tx pgx.Tx, name, eventsBy string, args ...any) {
	t.Helper()
	expectPlan(t, tx, name, eventsBy, false, args...)
}

func expectPlan(t *testing.T, tx pgx.Tx, name, eventsBy string, readsContacts bool, args ...any) {
	t.Helper()
	var out []byte
	if err := tx.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+statements[name], args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil {
		t.Fatal(err)
	}
	scans := 0
	var walk func(n planNode)
	walk = func(n planNode) {
		batch := eventsBy == "import_job_id = "
		if n.Relation == "import_events" && n.NodeType != "ModifyTable" && (!n.reachedBy(eventsBy) ||
			batch && (n.NodeType != "Index Scan" || !strings.Contains(n.IndexCond, "id < "))) {
			// A rollback batch reads its job's events along the index from
			// where the last batch stopped: n events, not the job's rest;
			// a contact's events come from the contact's index.
			t.Errorf("%s reads import_events by %s (index cond %q), not by %q:\n%s", name, n.NodeType, n.IndexCond, eventsBy, out)
		}
		if n.Relation == "contacts" && n.NodeType != "ModifyTable" {
			scans++
			if !n.probes() {
				t.Errorf("%s reaches the contacts by %s (index cond %q, filter %q), not a probe a row:\n%s",
					name, n.NodeType, n.IndexCond, n.Filter, out)
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(plans[0].Plan)
	if readsContacts && scans == 0 {
		t.Errorf("%s: no scan of contacts in the plan:\n%s", name, out)
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Parent    string     `json:"Parent Relationship"`
	Relation  string     `json:"Relation Name"`
	IndexCond string     `json:"Index Cond"`
	TIDCond   string     `json:"TID Cond"`
	Filter    string     `json:"Filter"`
	Plans     []planNode `json:"Plans"`
}

// reachedBy reports whether a scan finds its rows through an index
// condition that holds one of conds (a bitmap heap scan through the index
// scans below it).
func (n planNode) reachedBy(conds ...string) bool {
	holds := func(cond string) bool {
		for _, c := range conds {
			if strings.Contains(cond, c) {
				return true
			}
		}
		return false
	}
	switch n.NodeType {
	case "Index Scan", "Index Only Scan":
		return holds(n.IndexCond)
	case "Bitmap Heap Scan":
		// The bitmap's index scans are its outer plans (sub-plans of its
		// filter are not).
		found := false
		for _, c := range n.Plans {
			if c.Parent == "Outer" {
				if c.NodeType != "Bitmap Index Scan" || !holds(c.IndexCond) {
					return false
				}
				found = true
			}
		}
		return found
	}
	return false
}

// probes reports whether a scan of contacts finds its rows by key, id or
// ctid, one probe a row: a TID scan, or an index condition on the key or
// the id.
func (n planNode) probes() bool {
	if n.NodeType == "Tid Scan" {
		return n.TIDCond != ""
	}
	return n.reachedBy("email_key = ", "(id = ")
}
