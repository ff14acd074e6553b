package rollback_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/pipelinetest"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
	"github.com/portagehq/portage/shared/rollback"
)

// env is the pipeline of one tenant, its chunks of 7 rows so that a small
// file spans several.
type env struct{ *pipelinetest.Env }

func newEnv(t testing.TB, db *pgxpool.Pool) *env {
	t.Helper()
	var e *pipelinetest.Env
	if db == nil {
		e = pipelinetest.New(t)
	} else {
		e = pipelinetest.On(t, db)
	}
	e.Deps.ChunkRows = 7
	return &env{e}
}

// importFile runs a whole import with the library steps.
func (e *env) importFile(t testing.TB, content string, opts jobs.Options) uuid.UUID {
	t.Helper()
	job := e.NewJob(t, "f.csv", content, nil, opts)
	e.Run(t, job)
	return job
}

// rollbackAll begins the rollback and runs batches of n until it finishes.
func (e *env) rollbackAll(t testing.TB, job uuid.UUID, n int) rollback.Progress {
	t.Helper()
	ctx := context.Background()
	e.Tx(t, func(tx pgx.Tx) error {
		_, err := rollback.Begin(ctx, tx, job)
		return err
	})
	for i := 0; ; i++ {
		p, err := rollback.Batch(ctx, e.Deps.DB, e.Tenant, job, n)
		if err != nil {
			t.Fatal(err)
		}
		if p.Finished {
			return p
		}
		if i > 1_000_000 {
			t.Fatal("rollback does not end")
		}
	}
}

// digest hashes every live contact, every column, ids and timestamps included.
func (e *env) digest(t testing.TB) string {
	t.Helper()
	var rows []string
	e.Tx(t, func(tx pgx.Tx) error {
		r, err := tx.Query(context.Background(), `SELECT to_jsonb(c.*)::text FROM contacts c WHERE deleted_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(r, pgx.RowTo[string])
		return err
	})
	h := sha256.Sum256([]byte(strings.Join(rows, "\n")))
	return hex.EncodeToString(h[:])
}

func (e *env) seedContacts(t testing.TB, n int, rnd *rand.Rand) {
	t.Helper()
	e.Tx(t, func(tx pgx.Tx) error {
		for i := 0; i < n; i++ {
			first := []any{nil, "", "Old"}[rnd.IntN(3)]
			_, err := tx.Exec(context.Background(), `INSERT INTO contacts (id, tenant_id, email, first_name, company, tags, custom_fields, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, now() - interval '3 days', now() - interval '2 days')`,
				uuid.New(), e.Tenant, fmt.Sprintf("User%d@Example.com", i), first, []any{nil, "OldCo"}[rnd.IntN(2)],
				[][]string{{}, {"old"}}[rnd.IntN(2)], []string{`{}`, `{"plan":"free"}`}[rnd.IntN(2)])
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// randomFile makes a file over keys user0..user(keys-1): matches, new
// contacts, blanks, in-file duplicates and bad rows.
func randomFile(rnd *rand.Rand, rows, keys int) string {
	var b strings.Builder
	b.WriteString("email,first_name,last_name,company,tags,plan\n")
	for i := 0; i < rows; i++ {
		if rnd.IntN(10) == 0 {
			b.WriteString("not-an-email,X,,,,\n")
			continue
		}
		pick := func(vals ...string) string { return vals[rnd.IntN(len(vals))] }
		fmt.Fprintf(&b, "user%d@example.com,%s,%s,%s,%s,%s\n", rnd.IntN(keys),
			pick("", "Ann", "Bo"), pick("", "Lee"), pick("", "NewCo"), pick("", "vip", "a;b"), pick("", "pro"))
	}
	return b.String()
}

func TestImportThenRollbackRestoresEveryColumn(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	strategies := []jobs.Options{
		{DuplicateStrategy: "skip", Tags: []string{"imported"}},
		{DuplicateStrategy: "update", Tags: []string{"imported"}},
		{DuplicateStrategy: "update", OverwriteBlanks: true},
		{DuplicateStrategy: "merge", Tags: []string{"imported"}},
		{DuplicateStrategy: "update_only", OverwriteBlanks: true},
	}
	for i, opts := range strategies {
		t.Run(fmt.Sprintf("%s/overwrite=%v", opts.DuplicateStrategy, opts.OverwriteBlanks), func(t *testing.T) {
			t.Parallel()
			rnd := rand.New(rand.NewPCG(uint64(i), 42))
			e := newEnv(t, db)
			e.seedContacts(t, 30, rnd)
			before := e.digest(t)
			job := e.importFile(t, randomFile(rnd, 80, 60), opts)
			if e.digest(t) == before && opts.DuplicateStrategy != "skip" {
				t.Fatal("the import changed nothing; the test would prove nothing")
			}
			p := e.rollbackAll(t, job, 9)
			if p.Conflicts != 0 || p.Done != p.Events {
				t.Fatalf("progress %+v", p)
			}
			if after := e.digest(t); after != before {
				t.Fatal("the live contacts differ from before the import")
			}
			var status string
			var canRollback bool
			var at *string
			e.Tx(t, func(tx pgx.Tx) error {
				return tx.QueryRow(context.Background(), `SELECT status, can_rollback, rolled_back_at::text FROM import_jobs WHERE id = $1`, job).Scan(&status, &canRollback, &at)
			})
			if status != jobs.StatusRolledBack || canRollback || at == nil {
				t.Fatalf("job after rollback: %s can_rollback=%v rolled_back_at=%v", status, canRollback, at)
			}
		})
	}
}

// Random prior contacts, random files, random strategies: import then
// rollback always gives back the exact rows.
func TestRollbackProperty(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	for seed := uint64(0); seed < 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rnd := rand.New(rand.NewPCG(seed, 7))
			e := newEnv(t, db)
			e.Deps.ChunkRows = 1 + rnd.IntN(40)
			e.seedContacts(t, rnd.IntN(50), rnd)
			before := e.digest(t)
			opts := jobs.Options{DuplicateStrategy: []string{"skip", "update", "merge", "update_only"}[rnd.IntN(4)],
				OverwriteBlanks: rnd.IntN(2) == 0}
			if rnd.IntN(2) == 0 {
				opts.Tags = []string{"t"}
			}
			job := e.importFile(t, randomFile(rnd, 1+rnd.IntN(150), 1+rnd.IntN(80)), opts)
			var writes int
			e.Tx(t, func(tx pgx.Tx) error {
				return tx.QueryRow(context.Background(), `SELECT created_count + updated_count FROM import_jobs WHERE id = $1`, job).Scan(&writes)
			})
			if writes == 0 {
				return // nothing to roll back; Begin refuses, tested elsewhere
			}
			e.rollbackAll(t, job, 1+rnd.IntN(30))
			if e.digest(t) != before {
				t.Fatalf("seed %d (%+v): the live contacts differ after rollback", seed, opts)
			}
		})
	}
}

// A rollback interrupted between batches resumes where it stopped, and a
// batch run again after the end changes nothing.
func TestRollbackResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(3, 3))
	e.seedContacts(t, 40, rnd)
	before := e.digest(t)
	job := e.importFile(t, randomFile(rnd, 100, 70), jobs.Options{DuplicateStrategy: "update"})
	e.Tx(t, func(tx pgx.Tx) error { _, err := rollback.Begin(ctx, tx, job); return err })
	p, err := rollback.Batch(ctx, e.Deps.DB, e.Tenant, job, 10)
	if err != nil || p.Done != 10 || p.Finished {
		t.Fatalf("first batch: %+v %v", p, err)
	}
	// The worker dies here. A new request resumes the same rollback.
	e.Tx(t, func(tx pgx.Tx) error {
		j, err := rollback.Begin(ctx, tx, job)
		if j.Status != jobs.StatusRollingBack {
			t.Errorf("resuming Begin gave %s", j.Status)
		}
		return err
	})
	p = e.rollbackAll(t, job, 25)
	if p.Done != p.Events {
		t.Fatalf("progress %+v", p)
	}
	if e.digest(t) != before {
		t.Fatal("a resumed rollback did not restore the contacts")
	}
	again, err := rollback.Batch(ctx, e.Deps.DB, e.Tenant, job, 25)
	if err != nil || !again.Finished || again != p || e.digest(t) != before {
		t.Fatalf("a batch after the end: %+v %v", again, err)
	}
}

func TestRollbackConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A person edits a contact after the import: that contact is left as
	// edited and reported; the others are rolled back.
	t.Run("LaterEdit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		job := e.importFile(t, "email,first_name\na@x.io,Ann\nb@x.io,Bo\n", jobs.Options{})
		e.Tx(t, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE contacts SET first_name = 'Edited', updated_at = now() WHERE email = 'b@x.io'`)
			return err
		})
		p := e.rollbackAll(t, job, 10)
		if p.Conflicts != 1 || p.Done != 2 {
			t.Fatalf("progress %+v", p)
		}
		var live []string
		var conflicts []rollback.Conflict
		e.Tx(t, func(tx pgx.Tx) error {
			r, _ := tx.Query(ctx, `SELECT email || ':' || first_name FROM contacts WHERE deleted_at IS NULL`)
			live, _ = pgx.CollectRows(r, pgx.RowTo[string])
			var err error
			conflicts, err = rollback.Conflicts(ctx, tx, job, 10)
			return err
		})
		if len(live) != 1 || live[0] != "b@x.io:Edited" {
			t.Fatalf("live contacts %v", live)
		}
		if len(conflicts) != 1 || conflicts[0].Email != "b@x.io" || strings.Join(conflicts[0].Changed, ",") != "first_name,updated_at" {
			t.Fatalf("conflicts %+v", conflicts)
		}
	})
	// A later import updated the same contacts: rolling back the first
	// reports them; rolling back the later one first, then the first, is clean.
	t.Run("LaterImport", func(t *testing.T) {
		t.Parallel()
		const first = "email,company\nuser0@example.com,First\nuser1@example.com,First\nnew@x.io,First\n"
		const second = "email,company\nuser1@example.com,Second\nnew@x.io,Second\n"
		companies := func(e *env) string {
			var out []string
			e.Tx(t, func(tx pgx.Tx) error {
				r, _ := tx.Query(ctx, `SELECT email || '=' || coalesce(company, '-') FROM contacts WHERE deleted_at IS NULL ORDER BY email`)
				var err error
				out, err = pgx.CollectRows(r, pgx.RowTo[string])
				return err
			})
			return strings.Join(out, " ")
		}
		update := jobs.Options{DuplicateStrategy: "update"}

		// Rolling back the first import leaves what the second one changed.
		e := newEnv(t, nil)
		e.seedContacts(t, 3, rand.New(rand.NewPCG(1, 1)))
		original := companies(e)
		j1 := e.importFile(t, first, update)
		e.importFile(t, second, update)
		p := e.rollbackAll(t, j1, 100)
		if p.Conflicts != 2 || p.Done != 3 {
			t.Fatalf("progress %+v", p)
		}
		// user0 is back as it was; user1 and new@x.io keep the second import's values.
		user0 := strings.Fields(original)[0]
		if got := companies(e); !strings.Contains(got, "new@x.io=Second") || !strings.Contains(got, "User1@Example.com=Second") || !strings.Contains(got, user0) {
			t.Fatalf("after rolling back the first import: %s (originally %s)", got, original)
		}

		// Newest first, both roll back cleanly to the original contacts.
		e2 := newEnv(t, e.Deps.DB)
		e2.seedContacts(t, 3, rand.New(rand.NewPCG(1, 1)))
		before := e2.digest(t)
		f := e2.importFile(t, first, update)
		s := e2.importFile(t, second, update)
		if p := e2.rollbackAll(t, s, 100); p.Conflicts != 0 {
			t.Fatalf("second rollback: %+v", p)
		}
		if p := e2.rollbackAll(t, f, 100); p.Conflicts != 0 {
			t.Fatalf("first rollback: %+v", p)
		}
		if e2.digest(t) != before {
			t.Fatal("rolling back newest first did not restore the contacts")
		}
	})
}

func TestBeginRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	dry := e.importFile(t, "email\na@x.io\n", jobs.Options{DryRun: true})
	done := e.importFile(t, "email\nb@x.io\n", jobs.Options{})
	onlySkips := e.importFile(t, "email\nb@x.io\n", jobs.Options{})
	pending := uuid.New()
	e.Tx(t, func(tx pgx.Tx) error {
		return jobs.CreateImport(ctx, tx, jobs.NewImport{ID: pending, TenantID: e.Tenant, FileName: "p.csv", SourceKey: "k"})
	})
	e.rollbackAll(t, done, 10)
	tests := []struct {
		name string
		job  uuid.UUID
		want string
	}{
		{"Pending", pending, "still pending"},
		{"DryRun", dry, "dry run"},
		{"AlreadyRolledBack", done, "already rolled back"},
		{"NothingWritten", onlySkips, "nothing to roll back"},
	}
	for _, tt := range tests {
		var err error
		postgres.InTenantTx(ctx, e.Deps.DB, e.Tenant, func(tx pgx.Tx) error {
			_, err = rollback.Begin(ctx, tx, tt.job)
			return err
		})
		if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a refusal containing %q", tt.name, err, tt.want)
		}
	}
}

// A rollback of 100,000 events goes in bounded batches and ends exact.
func TestRollbackManyEvents(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("100,000 rows")
	}
	e := newEnv(t, nil)
	e.Deps.ChunkRows = 20_000
	const n = 100_000
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "user%d@example.com,N%d\n", i, i)
	}
	before := e.digest(t)
	job := e.importFile(t, b.String(), jobs.Options{})
	ctx := context.Background()
	e.Tx(t, func(tx pgx.Tx) error { _, err := rollback.Begin(ctx, tx, job); return err })
	prev := 0
	for {
		p, err := rollback.Batch(ctx, e.Deps.DB, e.Tenant, job, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if p.Done-prev > 5000 {
			t.Fatalf("a batch reversed %d events, more than its 5000", p.Done-prev)
		}
		prev = p.Done
		if p.Finished {
			if p.Done != n || p.Events != n {
				t.Fatalf("progress %+v", p)
			}
			break
		}
	}
	if e.digest(t) != before {
		t.Fatal("the contacts differ after rolling back 100,000 creations")
	}
}

// Two update imports of the same contacts whose chunks interleaved: for
// some contacts the first wrote last, for others the second. Undoing one
// of them restores a contact only where that import's write is still
// there, and reports the others; undoing both, in any order or at once,
// gives every contact back as it was before either, column for column
// (docs/decisions.md, "Undoing one of two overlapping imports").
func TestOverlappingImportsUndoneInEveryOrder(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var rows strings.Builder
	rows.WriteString("email,company\n")
	for i := range 14 {
		fmt.Fprintf(&rows, "p%d@example.com,%%s\n", i)
	}
	file := func(company string) string { return strings.ReplaceAll(rows.String(), "%s", company) }
	update := jobs.Options{DuplicateStrategy: jobs.Update}
	// overlap seeds 14 contacts, then runs A and B with their two chunks
	// interleaved: A's first chunk, B's first, B's second, A's second.
	overlap := func(t *testing.T) (*env, string, uuid.UUID, uuid.UUID) {
		e := newEnv(t, db)
		e.importFile(t, file("Original"), jobs.Options{})
		before := e.digest(t)
		a, b := e.NewJob(t, "a.csv", file("A"), nil, update), e.NewJob(t, "b.csv", file("B"), nil, update)
		ca, cb := e.Prepare(t, a), e.Prepare(t, b)
		if len(ca) != 2 || len(cb) != 2 {
			t.Fatalf("%d and %d chunks", len(ca), len(cb))
		}
		for _, c := range []importer.Chunk{ca[0], cb[0], cb[1], ca[1]} {
			if _, err := importer.ApplyChunk(context.Background(), e.Deps, c); err != nil {
				t.Fatal(err)
			}
		}
		e.Finalize(t, a)
		e.Finalize(t, b)
		return e, before, a, b
	}
	companies := func(t *testing.T, e *env) map[string]int {
		out := map[string]int{}
		e.Tx(t, func(tx pgx.Tx) error {
			r, err := tx.Query(context.Background(), `SELECT coalesce(company, '-') FROM contacts WHERE deleted_at IS NULL`)
			if err != nil {
				return err
			}
			names, err := pgx.CollectRows(r, pgx.RowTo[string])
			for _, n := range names {
				out[n]++
			}
			return err
		})
		return out
	}

	// Undoing one import alone reports its first chunk, which the other
	// overwrote, and leaves every contact as the other wrote it.
	for _, only := range []struct{ name, left string }{{"A", "B"}, {"B", "A"}} {
		t.Run("Only"+only.name, func(t *testing.T) {
			t.Parallel()
			e, _, a, b := overlap(t)
			undo := a
			if only.name == "B" {
				undo = b
			}
			if p := e.rollbackAll(t, undo, 5); p.Conflicts != 7 {
				t.Fatalf("undo %s: %+v", only.name, p)
			}
			if got := companies(t, e); got[only.left] != 14 {
				t.Fatalf("after undoing %s: %v, want every contact as %s wrote it", only.name, got, only.left)
			}
		})
	}
	for _, order := range []string{"AThenB", "BThenA"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			e, before, a, b := overlap(t)
			first, second := a, b
			if order == "BThenA" {
				first, second = b, a
			}
			if p := e.rollbackAll(t, first, 5); p.Conflicts != 7 {
				t.Fatalf("first undo: %+v", p)
			}
			if p := e.rollbackAll(t, second, 5); p.Conflicts != 0 {
				t.Fatalf("second undo: %+v", p)
			}
			if e.digest(t) != before {
				t.Fatalf("after undoing both: %v, want every contact as it was", companies(t, e))
			}
		})
	}
	// Both undone at once, their batches alternating.
	t.Run("AtOnce", func(t *testing.T) {
		t.Parallel()
		e, before, a, b := overlap(t)
		ctx := context.Background()
		for _, job := range []uuid.UUID{a, b} {
			e.Tx(t, func(tx pgx.Tx) error {
				_, err := rollback.Begin(ctx, tx, job)
				return err
			})
		}
		done := map[uuid.UUID]bool{}
		for i := 0; len(done) < 2; i++ {
			for _, job := range []uuid.UUID{a, b} {
				if done[job] {
					continue
				}
				p, err := rollback.Batch(ctx, e.Deps.DB, e.Tenant, job, 3)
				if err != nil {
					t.Fatal(err)
				}
				done[job] = p.Finished
				if !p.Finished {
					delete(done, job)
				}
			}
			if i > 100 {
				t.Fatal("the undos do not end")
			}
		}
		if e.digest(t) != before {
			t.Fatalf("after undoing both at once: %v, want every contact as it was", companies(t, e))
		}
	})
}
