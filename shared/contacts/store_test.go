package contacts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/postgres"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// Rollback compares a contact with its event's snapshot as jsonb, and the
// writer builds those snapshots in Go rather than with to_jsonb: they must
// be the very same jsonb, whatever the values hold.
func TestSnapshotsAreWhatToJSONBGives(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	tenant, workspace, job := uuid.New(), uuid.New(), uuid.New()
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		return execAll(tx,
			`INSERT INTO tenants (id, name) VALUES ($1, 't')`, tenant,
			`INSERT INTO workspaces (id, tenant_id) VALUES ($1, $2)`, workspace, tenant,
			`INSERT INTO import_jobs (id, tenant_id, status) VALUES ($1, $2, 'processing')`, job, tenant)
	})
	nasty := []string{`quote " and backslash \ and {braces}, commas`, "line\nbreak\tand tab\r", "Zoë Ünal 東京 🙂",
		"NULL", `\N`, "", " spaced ", "\u2028sep", "a\x01b", "bad \xff utf-8"}
	var rows []contacts.Row
	for i, v := range nasty {
		r := contacts.Row{ID: uuid.Must(uuid.NewV7()), TenantID: tenant}
		email := fmt.Sprintf("user%d@example.com", i)
		r.Values[contacts.Email] = &email
		for f := contacts.FirstName; f < contacts.NumFields; f++ {
			if (int(f)+i)%3 != 0 { // some NULLs
				v := v
				r.Values[f] = &v
			}
		}
		if i%2 == 0 {
			r.WorkspaceID = &workspace
		}
		r.Tags = []string{v, "vip", `"q"`}
		r.Custom = map[string]json.RawMessage{"plan": mustValue(t, v), "seats": json.RawMessage(`12`),
			"ratio": json.RawMessage(`1.50`), "nested": json.RawMessage(`{"b":[1,"x",null],"a":true}`)}
		rows = append(rows, r)
	}
	rows = append(rows, contacts.Row{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Values: [contacts.NumFields]*string{contacts.Email: ptr("bare@example.com")}})

	if ids := insert(t, db, tenant, job, rows); len(ids) != len(rows) {
		t.Errorf("inserted %d of %d rows", len(ids), len(rows))
	}
	expectExact(t, db, tenant, "created", len(rows))

	// Read back under lock, change every row (or leave it), and record it.
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		keys := make([]string, len(rows))
		for i, r := range rows {
			keys[i] = r.Value(contacts.Email)
		}
		found, err := contacts.FindLive(ctx, tx, tenant, keys, true)
		if err != nil {
			return err
		}
		if len(found) != len(rows) {
			t.Fatalf("found %d of %d contacts", len(found), len(rows))
		}
		var mismatched int
		for _, m := range found {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM contacts c WHERE c.id = $1 AND `+contacts.Snapshot+` <> $2::jsonb`,
				m.Row.ID, string(m.Snapshot)).Scan(&mismatched); err != nil {
				return err
			}
			if mismatched > 0 {
				t.Errorf("FindLive's snapshot of %s differs from to_jsonb: %s", m.Row.Value(contacts.Email), m.Snapshot)
			}
		}
		w, err := contacts.Begin(ctx, tx, job)
		if err != nil {
			return err
		}
		var next []contacts.Row
		var prev, same []contacts.Match
		for i, k := range keys {
			m := found[k]
			if i%4 == 3 {
				same = append(same, m)
				continue
			}
			n := m.Row
			n.Values[contacts.City] = ptr(nasty[(i+1)%len(nasty)])
			n.Tags = append(append([]string(nil), n.Tags...), "updated")
			n.Custom = map[string]json.RawMessage{"plan": mustValue(t, "pro")}
			next, prev = append(next, n), append(prev, m)
		}
		if err := w.Update(ctx, next, prev); err != nil {
			return err
		}
		return w.Skip(ctx, same)
	})
	expectExact(t, db, tenant, "updated", len(rows)-len(rows)/4)
	expectExact(t, db, tenant, "skipped", len(rows)/4)
}

// A key another transaction took first is left out of the insert, with its
// event; the rest are inserted.
func TestInsertLeavesOutKeysTakenMeanwhile(t *testing.T) {
	db := pgtest.New(t)
	tenant, job := uuid.New(), uuid.New()
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		return execAll(tx,
			`INSERT INTO tenants (id, name) VALUES ($1, 't')`, tenant,
			`INSERT INTO import_jobs (id, tenant_id, status) VALUES ($1, $2, 'processing')`, job, tenant,
			`INSERT INTO contacts (id, tenant_id, email) VALUES (gen_random_uuid(), $1, 'taken@example.com')`, tenant)
	})
	rows := []contacts.Row{
		{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Values: [contacts.NumFields]*string{contacts.Email: ptr("new@example.com")}},
		{ID: uuid.Must(uuid.NewV7()), TenantID: tenant, Values: [contacts.NumFields]*string{contacts.Email: ptr("taken@example.com")}},
	}
	if ids := insert(t, db, tenant, job, rows); !ids[rows[0].ID] || ids[rows[1].ID] || len(ids) != 1 {
		t.Errorf("inserted %v, want only %s", ids, rows[0].ID)
	}
	expectExact(t, db, tenant, "created", 1)
}

// expectExact checks that the tenant has n events of type kind, each of
// whose new_data is its contact's to_jsonb, and whose previous_data (for an
// update) is the contact as it was.
func expectExact(t *testing.T, db *pgxpool.Pool, tenant uuid.UUID, kind string, n int) {
	t.Helper()
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		var events, exact, prevOK int
		err := tx.QueryRow(context.Background(), `
			SELECT count(*), count(*) FILTER (WHERE e.new_data = `+contacts.Snapshot+`),
				count(*) FILTER (WHERE CASE e.event_type
					WHEN 'created' THEN e.previous_data IS NULL
					WHEN 'skipped' THEN e.previous_data = e.new_data
					ELSE e.previous_data <> e.new_data
						AND e.previous_data - 'updated_at' - 'city' - 'tags' - 'custom_fields' = e.new_data - 'updated_at' - 'city' - 'tags' - 'custom_fields' END)
			FROM import_events e JOIN contacts c ON c.id = e.contact_id WHERE e.event_type = $1`, kind).Scan(&events, &exact, &prevOK)
		if err != nil {
			return err
		}
		if events != n || exact != n || prevOK != n {
			t.Errorf("%s events: %d (want %d), %d with new_data = the contact's snapshot, %d with the right previous_data", kind, events, n, exact, prevOK)
		}
		return nil
	})
}

// insert writes rows in a transaction of their own and returns the ids
// inserted.
func insert(t *testing.T, db *pgxpool.Pool, tenant, job uuid.UUID, rows []contacts.Row) map[uuid.UUID]bool {
	t.Helper()
	var ids map[uuid.UUID]bool
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		w, err := contacts.Begin(context.Background(), tx, job)
		if err != nil {
			return err
		}
		ids, err = w.Insert(context.Background(), tenant, rows)
		return err
	})
	return ids
}

func inTx(t *testing.T, db *pgxpool.Pool, tenant uuid.UUID, fn func(pgx.Tx) error) {
	t.Helper()
	if err := postgres.InTenantTx(context.Background(), db, tenant, fn); err != nil {
		t.Fatal(err)
	}
}

// execAll runs statements, each followed by its arguments.
func execAll(tx pgx.Tx, list ...any) error {
	for i := 0; i < len(list); {
		sql := list[i].(string)
		j := i + 1
		for j < len(list) {
			if _, isSQL := list[j].(string); isSQL {
				break
			}
			j++
		}
		if _, err := tx.Exec(context.Background(), sql, list[i+1:j]...); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func mustValue(t *testing.T, v any) json.RawMessage {
	raw, err := contacts.MarshalValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func ptr(s string) *string { return &s }

// A chunk's lookup reads its own keys' contacts, not all of the tenant's:
// under row-level security only leakproof conditions can use an index, so
// the lookup goes through email_key (an expression index on
// lower(btrim(email)) was never used, and every chunk read every contact).
func TestFindLiveReadsOnlyItsKeys(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	tenant := uuid.New()
	const contactsInTenant = 3000
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		return execAll(tx,
			`INSERT INTO tenants (id, name) VALUES ($1, 't')`, tenant,
			`INSERT INTO contacts (id, tenant_id, email) SELECT gen_random_uuid(), $1, 'User' || i || '@Example.com '
				FROM generate_series(1, 3000) i`, tenant,
			`ANALYZE contacts`)
	})
	inTx(t, db, tenant, func(tx pgx.Tx) error {
		if _, err := contacts.Begin(ctx, tx, uuid.New()); err != nil {
			return err
		}
		found, err := contacts.FindLive(ctx, tx, tenant, []string{"user7@example.com", "user2999@example.com", "nobody@example.com"}, true)
		if err != nil {
			return err
		}
		m, ok := found["user7@example.com"]
		if len(found) != 2 || !ok || m.Row.Value(contacts.Email) != "User7@Example.com " {
			t.Errorf("found %d contacts: %v", len(found), found)
		}
		var read int
		if err := tx.QueryRow(ctx, `SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
			FROM pg_stat_xact_user_tables WHERE relname = 'contacts'`).Scan(&read); err != nil {
			return err
		}
		if read > 10 {
			t.Errorf("the lookup of 3 keys read %d of the tenant's %d contacts", read, contactsInTenant)
		}
		return nil
	})
}
