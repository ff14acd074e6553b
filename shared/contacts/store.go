package contacts

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Match is a live contact found by its key, with the snapshot it had when
// it was read (and locked).
type Match struct {
	Row      Row
	Snapshot json.RawMessage
}

// FindLive returns the tenant's live contacts whose match key is in keys
// (through the partial unique index: its predicate is repeated so the
// planner can use it; see PreferIndexes),
// keyed by match key. With lock, the rows are locked FOR UPDATE in id order,
// so that transactions touching overlapping contacts queue rather than
// deadlock.
func FindLive(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, keys []string, lock bool) (map[string]Match, error) {
	q := `SELECT lower(btrim(c.email)), to_jsonb(c.*) FROM contacts c
		WHERE c.tenant_id = $1 AND c.deleted_at IS NULL AND c.email IS NOT NULL AND lower(btrim(c.email)) = ANY($2)
		ORDER BY c.id`
	if lock {
		q += ` FOR UPDATE`
	}
	rows, err := tx.Query(ctx, q, tenantID, keys)
	if err != nil {
		return nil, fmt.Errorf("find contacts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Match, len(keys))
	for rows.Next() {
		var key string
		var snap []byte
		if err := rows.Scan(&key, &snap); err != nil {
			return nil, fmt.Errorf("find contacts: %w", err)
		}
		var m Match
		m.Snapshot = json.RawMessage(snap)
		if err := json.Unmarshal(snap, &m.Row); err != nil {
			return nil, fmt.Errorf("find contacts: decode %s: %w", key, err)
		}
		out[key] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find contacts: %w", err)
	}
	return out, nil
}

// insertSQL creates contacts that do not exist yet and records a "created"
// event for each in the same statement. Rows whose key a concurrent
// transaction has just taken are left out (ON CONFLICT DO NOTHING); the
// statement returns the keys it did insert.
const insertSQL = `
WITH ins AS (
	INSERT INTO contacts (id, tenant_id, workspace_id, email, first_name, last_name, phone, company,
		job_title, website, street, city, region, postal_code, country, tags, custom_fields,
		created_at, updated_at)
	SELECT r.id, r.tenant_id, r.workspace_id, r.email, r.first_name, r.last_name, r.phone, r.company,
		r.job_title, r.website, r.street, r.city, r.region, r.postal_code, r.country, r.tags, r.custom_fields,
		now(), now()
	FROM jsonb_populate_recordset(NULL::contacts, $1::jsonb) r
	ORDER BY lower(btrim(r.email))
	ON CONFLICT (tenant_id, lower(btrim(email))) WHERE deleted_at IS NULL AND email IS NOT NULL DO NOTHING
	RETURNING contacts.id, lower(btrim(contacts.email)) AS key, to_jsonb(contacts.*) AS data
), ev AS (
	INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
	SELECT portage_uuidv7(), $2, ins.id, 'created', NULL, ins.data, now() AT TIME ZONE 'UTC' FROM ins
)
SELECT key FROM ins`

// InsertNew creates rows (new contacts, ids chosen by the caller) with their
// "created" events for job jobID, and returns the set of keys inserted. A
// key missing from the result now belongs to a contact another transaction
// created meanwhile.
func InsertNew(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, rows []Row) (map[string]bool, error) {
	if len(rows) == 0 {
		return map[string]bool{}, nil
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	res, err := tx.Query(ctx, insertSQL, string(payload), jobID)
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	keys, err := pgx.CollectRows(res, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("insert contacts: %w", err)
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

// updateSQL overwrites matched contacts with their new values and records an
// "updated" event holding the snapshot read under lock and the row written.
// The ids, new rows and previous snapshots come as three arrays unnested
// together: the planner knows how many rows an unnested array has, and
// re-reading one is cheap. (With a JSON recordset, which it guesses at 100
// rows, and statistics made stale by a large import, it scanned the
// tenant's contacts and re-parsed the whole payload for each: quadratic,
// past the statement timeout at 5,000 rows.) The contacts are reached by id
// only: they were found and locked in this tenant's transaction, and
// row-level security scopes the statement to the tenant.
const updateSQL = `
WITH upd AS (
	UPDATE contacts c SET first_name = p.first_name, last_name = p.last_name, phone = p.phone,
		company = p.company, job_title = p.job_title, website = p.website, street = p.street, city = p.city,
		region = p.region, postal_code = p.postal_code, country = p.country, tags = p.tags,
		custom_fields = p.custom_fields, updated_at = now()
	FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(id, row, prev)
		CROSS JOIN LATERAL jsonb_populate_record(NULL::contacts, x.row::jsonb) AS p
	WHERE c.id = x.id AND c.deleted_at IS NULL
	RETURNING c.id, to_jsonb(c.*) AS data, x.prev::jsonb AS prev
)
INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT portage_uuidv7(), $4, upd.id, 'updated', upd.prev, upd.data, now() AT TIME ZONE 'UTC'
FROM upd`

// Update writes the new values of matched contacts (email, the key, is
// never changed) with an "updated" event for each. prev holds each contact's
// snapshot as it was read under lock, in the order of rows.
func Update(ctx context.Context, tx pgx.Tx, tenantID, jobID uuid.UUID, rows []Row, prev []Match) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	next := make([]string, len(rows))
	prevs := make([]string, len(rows))
	for i := range rows {
		b, err := json.Marshal(rows[i])
		if err != nil {
			return err
		}
		ids[i], next[i], prevs[i] = rows[i].ID.String(), string(b), string(prev[i].Snapshot)
	}
	tag, err := tx.Exec(ctx, updateSQL, ids, next, prevs, jobID)
	if err != nil {
		return fmt.Errorf("update contacts: %w", err)
	}
	if int(tag.RowsAffected()) != len(rows) {
		// The rows were locked; only a bug can get here.
		return fmt.Errorf("update contacts: %d of %d locked contacts updated", tag.RowsAffected(), len(rows))
	}
	return nil
}

// RecordSkipped records a "skipped" event for matched contacts the import
// left untouched: previous_data and new_data are both the snapshot.
func RecordSkipped(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, matches []Match) error {
	if len(matches) == 0 {
		return nil
	}
	payload, err := snapshots(matches)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
		SELECT portage_uuidv7(), $2, p.id, 'skipped', p.data, p.data, now() AT TIME ZONE 'UTC'
		FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, data jsonb)`, string(payload), jobID)
	if err != nil {
		return fmt.Errorf("record skipped contacts: %w", err)
	}
	return nil
}

// PreferIndexes turns sequential scans off for the rest of the transaction.
// Call it at the start of a transaction that writes an import's chunk: right
// after a large import the planner's statistics say the contacts table is
// tiny, and it then scans it whole for each of thousands of keys, past the
// statement timeout at 5,000 rows. These statements always reach contacts by
// key or id, so an index is always right. set_config(…, true) is
// transaction-local: nothing pins an RDS Proxy connection.
func PreferIndexes(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT set_config('enable_seqscan', 'off', true)`); err != nil {
		return fmt.Errorf("planner setting: %w", err)
	}
	return nil
}

func snapshots(ms []Match) ([]byte, error) {
	type snap struct {
		ID   uuid.UUID       `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	out := make([]snap, len(ms))
	for i, m := range ms {
		out[i] = snap{m.Row.ID, m.Snapshot}
	}
	return json.Marshal(out)
}
