package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Reverting is an event of a rollback batch, with its contact as it is now,
// read and locked in the rollback's transaction.
type Reverting struct {
	EventID   uuid.UUID
	Type      string // created, updated or skipped
	ContactID uuid.UUID
	// Loc is the contact's ctid, which holds while the lock does
	// (SoftDelete and Restore reach the contact by it).
	Loc string
	// Unchanged says the contact is still what the import wrote.
	Unchanged bool
	// Current is the contact's snapshot now, NewData what the import
	// wrote, PreviousData what it replaced (updated events only).
	Current, NewData, PreviousData json.RawMessage
}

// rollbackBatchSQL reads the newest $2 events of job $1 not yet reversed,
// newest first, each with its contact locked. The batch is read from the
// (job, id) index alone, backwards from the oldest event reversed so far
// (k.before: a column of a sub-select kept apart by OFFSET 0, so that the
// comparison is a condition of the index scan rather than a filter behind
// row-level security's), then each contact is looked up by id in a
// LATERAL sub-select: fresh events have no statistics yet, and a plan
// that starts from the tenant's contacts is quadratic. The primary key
// serves each lookup (one entry) rather than a tenant index, as
// findLiveSQL explains.
const rollbackBatchSQL = `
WITH batch AS MATERIALIZED (
	SELECT e.id, e.event_type, e.contact_id, e.new_data, e.previous_data
	FROM (SELECT coalesce((SELECT r.event_id FROM import_event_reversals r WHERE r.import_job_id = $1
	                       ORDER BY r.event_id LIMIT 1), 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid) AS before
	      OFFSET 0) AS k,
	LATERAL (SELECT e.* FROM import_events e WHERE e.import_job_id = $1 AND e.id < k.before
	         ORDER BY e.id DESC LIMIT $2) AS e)
SELECT b.id, b.event_type, b.contact_id, c.loc::text, c.now = b.new_data, c.now, b.new_data,
	CASE WHEN b.event_type = 'updated' THEN b.previous_data END
FROM batch b,
	LATERAL (SELECT c.ctid AS loc, ` + Snapshot + ` AS now FROM contacts c
		WHERE c.id = b.contact_id OFFSET 0 FOR UPDATE) c
ORDER BY b.id DESC`

// inIndexOrder turns sorts and bitmap scans off for rollbackBatchSQL. The
// batch is then read backwards along the (job, id) index from where the
// last batch stopped, n events whatever the job holds: a plan that
// believed the job small would gather all its events left and sort them,
// every batch (an undo of 300,000 events that sat at 0 for 15 minutes).
// The sort after the batch is then disabled but the only one, and a
// disabled plan's cost would have PostgreSQL compile it (JIT) every batch:
// jit is off too.
var inIndexOrder = planSettings{
	set: `SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),
	set_config('jit', 'off', true)`,
	reset: `SELECT set_config('enable_sort', 'on', true), set_config('enable_bitmapscan', 'on', true),
	set_config('jit', 'on', true)`,
}

// RollbackBatch reads up to n events of job jobID that no reversal has
// passed yet, newest first, and locks their contacts, in one round trip.
func RollbackBatch(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, n int) ([]Reverting, error) {
	var b pgx.Batch
	var batch []Reverting
	inIndexOrder.queue(&b, rollbackBatchSQL, jobID, n).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var r Reverting
			if err := rows.Scan(&r.EventID, &r.Type, &r.ContactID, &r.Loc, &r.Unchanged, &r.Current, &r.NewData, &r.PreviousData); err != nil {
				return err
			}
			batch = append(batch, r)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return batch, nil
}

// undoneBeforeSQL looks, for each event $1 (on contact $2, which it found
// holding $3), at the write on that contact just before it: the write
// $3 came from. It is given back when the import that made it was undone
// and left it as a conflict, which happens exactly when this event's write
// stood on top of it: undoing this event then gives the contact what was
// there before that write too. The events of a contact come from its
// contact_id index alone, kept apart (OFFSET 0) from the id comparison
// and the ORDER BY … LIMIT, which would otherwise tempt a plan to range
// over the primary key of every event before this one. x.i numbers the
// rows.
const undoneBeforeSQL = `
SELECT x.i, p.id, p.event_type, p.previous_data
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS x(event_id, contact_id, previous, i),
LATERAL (SELECT e.id, e.event_type, e.previous_data, e.new_data
	FROM (SELECT e.* FROM import_events e
	      WHERE e.contact_id = x.contact_id AND e.event_type IN ('created', 'updated')
	      OFFSET 0) e
	WHERE e.id < x.event_id
	ORDER BY e.id DESC LIMIT 1) p
WHERE p.new_data = x.previous::jsonb
  AND EXISTS (SELECT 1 FROM import_event_reversals r WHERE r.event_id = p.id AND r.outcome = 'conflict')`

// BeforeUndone decides what undoing each updated event of restores gives
// back, when imports overlapped: an event's previous data is what another
// import wrote, and if that import was undone (its write left as a
// conflict, under this one), the contact goes back past it, to what was
// there before both, or is deleted if that import created it. It returns
// the events to restore (PreviousData set to what to restore) and those
// whose contact is to be soft-deleted. Overlaps of any depth are followed,
// one round trip a level.
func BeforeUndone(ctx context.Context, tx pgx.Tx, restores []Reverting) (restore, remove []Reverting, err error) {
	restores = slices.Clone(restores)
	// at[i] is the event whose predecessor is looked at next for restores[i].
	at := make([]uuid.UUID, len(restores))
	gone := make([]bool, len(restores))
	pending := make([]int, len(restores))
	for i, r := range restores {
		at[i], pending[i] = r.EventID, i
	}
	for depth := 0; len(pending) > 0; depth++ {
		if depth > 1000 {
			return nil, nil, fmt.Errorf("undo: overlapping imports of one contact nest deeper than %d", depth)
		}
		var events, ids, prevs arrayBuilder
		for _, i := range pending {
			events.add(at[i].String())
			ids.add(restores[i].ContactID.String())
			prevs.add(string(restores[i].PreviousData))
		}
		rows, err := tx.Query(ctx, undoneBeforeSQL, events.String(), ids.String(), prevs.String())
		if err != nil {
			return nil, nil, fmt.Errorf("undo: follow overlapping imports: %w", err)
		}
		var next []int
		for rows.Next() {
			var n int
			var id uuid.UUID
			var typ string
			var prev []byte
			if err := rows.Scan(&n, &id, &typ, &prev); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("undo: follow overlapping imports: %w", err)
			}
			i := pending[n-1]
			at[i] = id
			if typ == "created" {
				gone[i] = true
				continue
			}
			restores[i].PreviousData = prev
			next = append(next, i)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("undo: follow overlapping imports: %w", err)
		}
		pending = next
	}
	for i, r := range restores {
		if gone[i] {
			remove = append(remove, r)
		} else {
			restore = append(restore, r)
		}
	}
	return restore, remove, nil
}

// softDeleteSQL soft-deletes the live contacts at the ctids $1.
const softDeleteSQL = `UPDATE contacts SET deleted_at = now() WHERE ctid = ANY($1::tid[]) AND deleted_at IS NULL`

// restoreSQL gives each contact at a ctid of $1 every column of its
// snapshot in $2 back, timestamps included: the row is the snapshot.
const restoreSQL = `
UPDATE contacts c SET workspace_id = p.workspace_id, email = p.email, first_name = p.first_name,
	last_name = p.last_name, phone = p.phone, company = p.company, job_title = p.job_title,
	website = p.website, street = p.street, city = p.city, region = p.region,
	postal_code = p.postal_code, country = p.country, tags = p.tags, custom_fields = p.custom_fields,
	created_at = p.created_at, updated_at = p.updated_at, deleted_at = p.deleted_at
FROM unnest($1::tid[], $2::text[]) AS x(loc, prev),
	LATERAL jsonb_populate_record(NULL::contacts, x.prev::jsonb) p
WHERE c.ctid = x.loc AND c.id = p.id`

// SoftDelete soft-deletes the contacts of created events, and Restore puts
// back the previous data of updated ones; both take contacts RollbackBatch
// locked in this transaction, and reach them by ctid with every other plan
// off (byLocation), as Update does.
func SoftDelete(ctx context.Context, tx pgx.Tx, batch []Reverting) error {
	var locs arrayBuilder
	for _, r := range batch {
		locs.add(r.Loc)
	}
	_, err := byLocationExec(ctx, tx, softDeleteSQL, locs.String())
	if err != nil {
		return fmt.Errorf("soft-delete created contacts: %w", err)
	}
	return nil
}

// Restore gives the contacts of updated events their previous data back.
func Restore(ctx context.Context, tx pgx.Tx, batch []Reverting) error {
	var locs, prevs arrayBuilder
	for _, r := range batch {
		locs.add(r.Loc)
		prevs.add(string(r.PreviousData))
	}
	n, err := byLocationExec(ctx, tx, restoreSQL, locs.String(), prevs.String())
	if err != nil {
		return fmt.Errorf("restore updated contacts: %w", err)
	}
	if n != int64(len(batch)) {
		return fmt.Errorf("restore updated contacts: %d of %d locked contacts restored", n, len(batch))
	}
	return nil
}
