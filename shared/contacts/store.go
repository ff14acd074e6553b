package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/portagehq/portage/shared/postgres"
)

// Snapshot is a contact's snapshot in SQL, for the contacts row c: every
// column but email_key, which is derived from the email.
const Snapshot = `(to_jsonb(c.*) - 'email_key')`

// Match is a live contact found by its key, with the snapshot it had when
// it was read (and locked).
type Match struct {
	Row      Row
	Snapshot json.RawMessage
	// Loc is the row's ctid: where this version of it is, which stays true
	// while the transaction that found it holds its lock (Update reaches
	// the row by it).
	Loc string
}

// liveColumns reads a contact in the order scanRow expects. Timestamps come
// as to_jsonb prints them, so that a snapshot built from the row in Go is
// the very jsonb that Snapshot gives in SQL.
var liveColumns = func() string {
	cols := []string{"c.id", "c.tenant_id", "c.workspace_id"}
	for f := Field(0); f < NumFields; f++ {
		cols = append(cols, "c."+f.Name())
	}
	cols = append(cols, "c.tags", "c.custom_fields::text",
		"to_json(c.created_at) #>> '{}'", "to_json(c.updated_at) #>> '{}'")
	return strings.Join(cols, ", ")
}()

// findLiveSQL reads the live contacts of tenant $1 whose key is in $2, in
// the order of $2, with each row's ctid (for Update); findLiveLockedSQL
// also locks them, in that order.
//
// Each key is one descent of the unique index, whatever the statistics
// say: the LATERAL sub-select (kept apart by OFFSET 0) takes its key from
// the outer row, so the planner cannot turn the lookup around into a scan
// of the tenant's entries filtered by the chunk's keys, which it prefers
// whenever the statistics believe the tenant small (a tenant the last
// ANALYZE did not see, a table analyzed while small) and which then costs
// every chunk as much as the contacts already stored. Among the indexes
// that could serve one key, the unique one visits one entry and a tenant
// index ((tenant_id, updated_at), (tenant_id, id)) as many as the tenant
// is believed to hold; migration 00010 keeps that belief above one contact
// (tenant_id has no statistics: a tenant is a 200th of the table), so the
// unique index wins, never tied (docs/decisions.md, "Plans that statistics
// cannot turn").
var (
	findLiveBase = `SELECT k.key, c.loc::text, ` + liveColumns + `
	FROM unnest($2::text[]) AS k(key),
	LATERAL (SELECT c.ctid AS loc, c.* FROM contacts c
		WHERE c.tenant_id = (SELECT $1::uuid) AND c.email_key = k.key AND c.deleted_at IS NULL AND c.email IS NOT NULL
		OFFSET 0`
	findLiveSQL       = findLiveBase + `) AS c`
	findLiveLockedSQL = findLiveBase + `
		FOR UPDATE) AS c`
)

// FindLive returns the tenant's live contacts whose match key is in keys,
// keyed by match key. It reads them through the partial unique index on
// email_key (its predicate is repeated so that the planner can use it; see
// also Begin): under row-level security only leakproof equality on a
// column can use an index, not lower(btrim(email)). With lock, the rows are
// locked FOR UPDATE in key order, so that transactions touching
// overlapping contacts queue rather than deadlock.
func FindLive(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, keys []string, lock bool) (map[string]Match, error) {
	q := findLiveSQL
	if lock {
		q = findLiveLockedSQL
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	rows, err := tx.Query(ctx, q, tenantID, keys)
	if err != nil {
		return nil, fmt.Errorf("find contacts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Match, len(keys))
	for rows.Next() {
		var key, loc string
		m, err := scanRow(rows, &key, &loc)
		if err != nil {
			return nil, fmt.Errorf("find contacts: %w", err)
		}
		m.Loc = loc
		out[key] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find contacts: %w", err)
	}
	return out, nil
}

// scanRow reads a row of liveColumns, after the columns in first, and
// builds its snapshot.
func scanRow(rows pgx.Rows, first ...any) (Match, error) {
	var m Match
	r := &m.Row
	var custom string
	dst := append(first, &r.ID, &r.TenantID, &r.WorkspaceID)
	for f := Field(0); f < NumFields; f++ {
		dst = append(dst, &r.Values[f])
	}
	dst = append(dst, &r.Tags, &custom, &r.CreatedAt, &r.UpdatedAt)
	if err := rows.Scan(dst...); err != nil {
		return m, err
	}
	if custom != "{}" {
		if err := json.Unmarshal([]byte(custom), &r.Custom); err != nil {
			return m, fmt.Errorf("custom fields of %s: %w", r.ID, err)
		}
	}
	snap, err := r.MarshalJSON()
	m.Snapshot = snap
	return m, err
}

// Writer writes one chunk's contacts and their import events, in the
// chunk's transaction. The events' snapshots are built here rather than by
// to_jsonb in SQL: the row written is known, all but its timestamps, and
// those are the transaction's now(), read once.
type Writer struct {
	tx    pgx.Tx
	jobID uuid.UUID
	// now is the transaction's now() as to_jsonb prints it.
	now string
}

// Begin starts writing for job jobID in tx. It also turns sequential scans
// off for the rest of the transaction: right after a large import the
// planner's statistics say the contacts table is tiny, and it then scans it
// whole for each of thousands of keys, past the statement timeout at 5,000
// rows. A chunk's statements always reach contacts by key or id, so an
// index is always right. set_config(…, true) is transaction-local: nothing
// pins an RDS Proxy connection.
func Begin(ctx context.Context, tx pgx.Tx, jobID uuid.UUID) (*Writer, error) {
	w := &Writer{tx: tx, jobID: jobID}
	err := tx.QueryRow(ctx, `SELECT to_json(now()) #>> '{}', set_config('enable_seqscan', 'off', true)`).Scan(&w.now, new(string))
	if err != nil {
		return nil, fmt.Errorf("begin writing contacts: %w", err)
	}
	return w, nil
}

// textColumns are the standard fields an import may set, every one but the
// email (the match key, which an update never changes).
var textColumns = func() []Field {
	var fs []Field
	for f := Field(0); f < NumFields; f++ {
		if f != Email {
			fs = append(fs, f)
		}
	}
	return fs
}()

// fieldList lists the column names of fs, each after prefix.
func fieldList(prefix string, fs []Field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = prefix + f.Name()
	}
	return strings.Join(names, ", ")
}

// insertContacts inserts the columnArrays' rows for tenant $4, timestamped
// with the transaction's now().
var insertContacts = `
	INSERT INTO contacts (id, tenant_id, workspace_id, ` + fieldList("", allFields) + `, tags, custom_fields, created_at, updated_at)
	SELECT x.id, $4, x.workspace_id, ` + fieldList("x.", allFields) + `, x.tags::text[], x.custom_fields::jsonb, now(), now()
	FROM unnest(` + unnestParams(5) + `) AS x(` + unnestColumns() + `)`

// insertEvents records a "created" event for each of the rows.
const insertEvents = `
INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT e.id, $1, e.contact_id, 'created', NULL, e.data::jsonb, now() AT TIME ZONE 'UTC'
FROM unnest($2::uuid[], $5::uuid[], string_to_array($3, E'\n')) AS e(id, contact_id, data)`

// insertSQL creates contacts and a "created" event for each, in one
// statement: the fast path, for keys nobody else holds. A key that a
// concurrent transaction took meanwhile fails it (unique violation).
// $1 job, $2 event ids, $3 snapshots (one a line), $4 tenant, $5… the
// columnArrays.
var insertSQL = `WITH ins AS (` + insertContacts + `)` + insertEvents

// insertContendedSQL is insertSQL for when keys are contended: rows whose
// key another transaction holds are left out (ON CONFLICT DO NOTHING), with
// their events, and the ids inserted are returned.
var insertContendedSQL = `WITH ins AS (` + insertContacts + `
	ON CONFLICT (tenant_id, email_key) WHERE deleted_at IS NULL AND email IS NOT NULL DO NOTHING
	RETURNING contacts.id
)` + insertEvents + `
WHERE e.contact_id IN (SELECT id FROM ins)
RETURNING contact_id`

var allFields = func() []Field {
	fs := make([]Field, NumFields)
	for f := range fs {
		fs[f] = Field(f)
	}
	return fs
}()

// Insert creates rows (new contacts of one tenant, ids chosen by the
// caller) with their "created" events, and returns the ids inserted. A row
// missing from the result has a key that another transaction took
// meanwhile: it is a match now.
//
// It first inserts every row with a plain INSERT, under a savepoint; only
// if a key turns out to be taken does it insert again with ON CONFLICT DO
// NOTHING, whose speculative insertion costs a quarter more per row.
func (w *Writer) Insert(ctx context.Context, tenantID uuid.UUID, rows []Row) (map[uuid.UUID]bool, error) {
	if len(rows) == 0 {
		return map[uuid.UUID]bool{}, nil
	}
	// In key order: concurrent inserts of overlapping keys take the unique
	// index's entries in the same order.
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Value(Email), b.Value(Email)) })
	var arrays columnArrays
	for i := range rows {
		r := &rows[i]
		r.CreatedAt, r.UpdatedAt, r.DeletedAt = w.now, w.now, nil
		if err := arrays.add(r); err != nil {
			return nil, err
		}
	}
	args := append([]any{w.jobID, arrays.evts.String(), arrays.data.String(), tenantID}, arrays.params()...)

	sp, err := w.tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	_, err = sp.Exec(ctx, insertSQL, args...)
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return nil, fmt.Errorf("insert contacts: %w", err)
		}
		out := make(map[uuid.UUID]bool, len(rows))
		for _, r := range rows {
			out[r.ID] = true
		}
		return out, nil
	}
	if !postgres.IsUniqueViolation(err) {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	if err := sp.Rollback(ctx); err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	res, err := w.tx.Query(ctx, insertContendedSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	ids, err := pgx.CollectRows(res, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	out := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// updateSQL overwrites matched contacts with their new values: $1… the
// columnArrays, and last the rows' ctids (Match.Loc). Each contact is
// reached by its ctid, one TID probe a row: the rows were found and locked
// in this transaction, so their ctids hold, and the id is checked too.
// Update runs it with index, bitmap, hash and merge plans off, which
// leaves the TID probe as the only plan not disabled: any other starts
// from the tenant's contacts, which the planner may believe to be a few
// rows however many there are, and compares each with every row of the
// chunk (13–46 s a statement at 50,000 contacts). Row-level security
// scopes it to the tenant.
var updateSQL = func() string {
	set := make([]string, len(textColumns))
	for i, f := range textColumns {
		set[i] = f.Name() + " = x." + f.Name()
	}
	loc := fmt.Sprintf("$%d::tid[]", 1+unnestParamCount)
	return `
UPDATE contacts c SET ` + strings.Join(set, ", ") + `,
	tags = x.tags::text[], custom_fields = x.custom_fields::jsonb, updated_at = now()
FROM unnest(` + unnestParams(1) + `, ` + loc + `) AS x(` + unnestColumns() + `, loc)
WHERE c.ctid = x.loc AND c.id = x.id AND c.deleted_at IS NULL`
}()

// updateEventsSQL records an "updated" event for each contact updated, with
// the snapshot read under lock and the row written: $1 job, $2 event ids,
// $3 contact ids, $4 new snapshots and $5 previous snapshots, one a line,
// like insertSQL's.
const updateEventsSQL = `
INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT e.id, $1, e.contact_id, 'updated', e.prev::jsonb, e.data::jsonb, now() AT TIME ZONE 'UTC'
FROM unnest($2::uuid[], $3::uuid[], string_to_array($4, E'\n'), string_to_array($5, E'\n')) AS e(id, contact_id, data, prev)`

// planSettings are plan settings one statement runs under: set is queued
// just before it and reset just after, in the same round trip. Both are
// transaction-local (set_config(…, true)), so nothing pins an RDS Proxy
// connection, and reset keeps them from the statements that follow.
type planSettings struct{ set, reset string }

// queue queues sql between s.set and s.reset in b and returns it, for its
// callback.
func (s planSettings) queue(b *pgx.Batch, sql string, args ...any) *pgx.QueuedQuery {
	b.Queue(s.set)
	q := b.Queue(sql, args...)
	b.Queue(s.reset)
	return q
}

// byLocation turns plans other than TID probes off, for a statement that
// reaches contacts by ctid.
var byLocation = planSettings{
	set: `SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
	set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`,
	reset: `SELECT set_config('enable_indexscan', 'on', true), set_config('enable_bitmapscan', 'on', true),
	set_config('enable_hashjoin', 'on', true), set_config('enable_mergejoin', 'on', true)`,
}

// byLocationExec runs a statement that reaches contacts by ctid under
// byLocation, in one round trip, and returns the rows it changed.
func byLocationExec(ctx context.Context, tx pgx.Tx, sql string, args ...any) (int64, error) {
	var b pgx.Batch
	var n int64
	byLocation.queue(&b, sql, args...).Exec(func(tag pgconn.CommandTag) error {
		n = tag.RowsAffected()
		return nil
	})
	return n, tx.SendBatch(ctx, &b).Close()
}

// Update writes the new values of matched contacts (email, the key, is
// never changed) with an "updated" event for each. prev holds each contact
// as FindLive found and locked it in this transaction, in the order of
// rows. The four statements go in one round trip.
func (w *Writer) Update(ctx context.Context, rows []Row, prev []Match) error {
	if len(rows) == 0 {
		return nil
	}
	contactArgs, eventArgs, err := w.updateArgs(rows, prev)
	if err != nil {
		return err
	}
	// The events go after the reset: an insert checks its foreign keys
	// with plans cached for the session, which must not be planned with
	// index scans off.
	var b pgx.Batch
	var updated int64
	byLocation.queue(&b, updateSQL, contactArgs...).Exec(func(tag pgconn.CommandTag) error {
		updated = tag.RowsAffected()
		return nil
	})
	b.Queue(updateEventsSQL, eventArgs...)
	if err := w.tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("update contacts: %w", err)
	}
	if int(updated) != len(rows) {
		// The rows were locked; only a bug can get here. The error rolls
		// the chunk back, events and all.
		return fmt.Errorf("update contacts: %d of %d locked contacts updated", updated, len(rows))
	}
	return nil
}

// updateArgs builds the arguments of updateSQL and of updateEventsSQL.
func (w *Writer) updateArgs(rows []Row, prev []Match) (contactArgs, eventArgs []any, err error) {
	var arrays columnArrays
	var prevs strings.Builder
	var locs arrayBuilder
	for i := range rows {
		r := rows[i]
		p := &prev[i].Row
		// What the statement leaves as it was, and the time it sets.
		r.ID, r.TenantID, r.WorkspaceID, r.CreatedAt, r.DeletedAt = p.ID, p.TenantID, p.WorkspaceID, p.CreatedAt, nil
		r.Values[Email] = p.Values[Email]
		r.UpdatedAt = w.now
		if err := arrays.add(&r); err != nil {
			return nil, nil, err
		}
		if i > 0 {
			prevs.WriteByte('\n')
		}
		prevs.Write(prev[i].Snapshot)
		locs.add(prev[i].Loc)
	}
	contactArgs = append(arrays.params(), locs.String())
	eventArgs = []any{w.jobID, arrays.evts.String(), arrays.ids.String(), arrays.data.String(), prevs.String()}
	return contactArgs, eventArgs, nil
}

// skipSQL records a "skipped" event for each contact $3, with its snapshot
// (one a line in $4) as both previous and new data; the LATERAL parses each
// snapshot once. $1 job, $2 event ids.
const skipSQL = `
INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT e.id, $1, e.contact_id, 'skipped', s.data, s.data, now() AT TIME ZONE 'UTC'
FROM unnest($2::uuid[], $3::uuid[], string_to_array($4, E'\n')) AS e(id, contact_id, data),
	LATERAL (SELECT e.data::jsonb OFFSET 0) AS s(data)`

// Skip records a "skipped" event for matched contacts the import left
// untouched: previous_data and new_data are both the snapshot.
func (w *Writer) Skip(ctx context.Context, matches []Match) error {
	if len(matches) == 0 {
		return nil
	}
	var eventIDs, ids arrayBuilder
	var snaps strings.Builder
	for i, m := range matches {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		eventIDs.add(id.String())
		ids.add(m.Row.ID.String())
		if i > 0 {
			snaps.WriteByte('\n')
		}
		snaps.Write(m.Snapshot)
	}
	_, err := w.tx.Exec(ctx, skipSQL, w.jobID, eventIDs.String(), ids.String(), snaps.String())
	if err != nil {
		return fmt.Errorf("record skipped contacts: %w", err)
	}
	return nil
}
