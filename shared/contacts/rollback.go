package contacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

// inIndexOrder turns sorts and bitmap scans off for rollbackBatchSQL, and
// restoreIndexOrder turns them on again (transaction-local). The batch is
// then read backwards along the (job, id) index from where the last batch
// stopped, n events whatever the job holds: a plan that believed the job
// small would gather all its events left and sort them, every batch (an
// undo of 300,000 events that sat at 0 for 15 minutes).
const (
	inIndexOrder      = `SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)`
	restoreIndexOrder = `SELECT set_config('enable_sort', 'on', true), set_config('enable_bitmapscan', 'on', true)`
)

// RollbackBatch reads up to n events of job jobID that no reversal has
// passed yet, newest first, and locks their contacts. The three statements
// go in one round trip.
func RollbackBatch(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, n int) ([]Reverting, error) {
	var b pgx.Batch
	b.Queue(inIndexOrder)
	b.Queue(rollbackBatchSQL, jobID, n)
	b.Queue(restoreIndexOrder)
	br := tx.SendBatch(ctx, &b)
	batch, err := readBatch(br)
	_, rerr := br.Exec()
	if err = errors.Join(err, rerr, br.Close()); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return batch, nil
}

func readBatch(br pgx.BatchResults) ([]Reverting, error) {
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var batch []Reverting
	for rows.Next() {
		var r Reverting
		var prev []byte
		if err := rows.Scan(&r.EventID, &r.Type, &r.ContactID, &r.Loc, &r.Unchanged, &r.Current, &r.NewData, &prev); err != nil {
			return nil, err
		}
		r.PreviousData = prev
		batch = append(batch, r)
	}
	return batch, rows.Err()
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

// byLocationExec runs a statement that reaches contacts by ctid between
// byLocation and restoreLocation, in one round trip, and returns the rows
// it changed.
func byLocationExec(ctx context.Context, tx pgx.Tx, sql string, args ...any) (int64, error) {
	var b pgx.Batch
	b.Queue(byLocation)
	b.Queue(sql, args...)
	b.Queue(restoreLocation)
	br := tx.SendBatch(ctx, &b)
	_, err := br.Exec()
	tag, serr := br.Exec()
	_, rerr := br.Exec()
	return tag.RowsAffected(), errors.Join(err, serr, rerr, br.Close())
}
