// Package rollback undoes an import exactly, from its import events: newest
// first, a created contact is soft-deleted and an updated one gets its
// previous snapshot back, every column included. A contact changed since the
// import (its current row is not the event's new_data) is left alone and
// reported as a conflict. The work goes in batches, one transaction each,
// recorded in import_event_reversals, so a rollback resumes after a crash
// and a repeated batch changes nothing.
package rollback

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// DefaultBatch is the number of events one batch reverses.
const DefaultBatch = 1000

// Begin moves a job to rolling_back, or refuses. A job already rolling back
// is returned as it is, so that a repeated request resumes the rollback.
func Begin(ctx context.Context, tx pgx.Tx, jobID uuid.UUID) (jobs.ImportJob, error) {
	j, err := jobs.Lock(ctx, tx, jobID)
	if err != nil {
		return j, err
	}
	refuse := func(format string, args ...any) (jobs.ImportJob, error) {
		return j, apperr.New(apperr.Conflict, format, args...)
	}
	switch {
	case j.Status == jobs.StatusRollingBack:
		return j, nil
	case j.Status == jobs.StatusRolledBack:
		return refuse("this import is already rolled back")
	case j.Status == jobs.StatusPending || j.Status == jobs.StatusProcessing:
		return refuse("this import is still %s; roll it back once it has ended", j.Status)
	case j.ImportOptions.DryRun:
		return refuse("this import was a dry run: it wrote nothing to roll back")
	case !j.CanRollback || !jobs.Allowed(jobs.OpBeginRollback, j.Status):
		return refuse("this import cannot be rolled back")
	}
	var writes, events int
	err = tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE event_type IN ('created', 'updated')), count(*)
		FROM import_events WHERE import_job_id = $1`, jobID).Scan(&writes, &events)
	if err != nil {
		return j, fmt.Errorf("count events: %w", err)
	}
	if writes == 0 {
		return refuse("this import created and updated no contact: there is nothing to roll back")
	}
	return jobs.BeginRollback(ctx, tx, jobID, events)
}

// Progress is where a rollback stands after a batch.
type Progress struct {
	Events    int  `json:"events"`
	Done      int  `json:"done"`
	Conflicts int  `json:"conflicts"`
	Finished  bool `json:"finished"`
}

// Conflict is a contact the rollback left alone because it changed after
// the import.
type Conflict struct {
	ContactID uuid.UUID `json:"contact_id"`
	Email     string    `json:"email"`
	Event     string    `json:"event"`
	// Changed lists the columns whose value is no longer the import's.
	Changed []string `json:"changed"`
}

// Batch reverses up to n of the job's remaining events, newest first, in
// one transaction, and completes the rollback when none remain. Events
// already reversed (by an earlier, maybe crashed, run) are not touched again.
func Batch(ctx context.Context, db postgres.Beginner, tenantID, jobID uuid.UUID, n int) (Progress, error) {
	if n <= 0 {
		n = DefaultBatch
	}
	var p Progress
	for attempt := 0; ; attempt++ {
		err := postgres.InTenantTx(ctx, db, tenantID, func(tx pgx.Tx) error {
			var err error
			p, err = batchTx(ctx, tx, tenantID, jobID, n)
			return err
		})
		if err == nil || !postgres.IsRetryable(err) || attempt == 3 {
			return p, err
		}
	}
}

type eventRow struct {
	id        uuid.UUID
	typ       string
	contactID uuid.UUID
	unchanged bool
	current   map[string]json.RawMessage
	newData   map[string]json.RawMessage
}

func batchTx(ctx context.Context, tx pgx.Tx, tenantID, jobID uuid.UUID, n int) (Progress, error) {
	job, err := jobs.Lock(ctx, tx, jobID)
	if err != nil {
		return Progress{}, err
	}
	if job.Status == jobs.StatusRolledBack {
		return progress(ctx, tx, jobID, true)
	}
	if !jobs.Allowed(jobs.OpCompleteRollback, job.Status) {
		return Progress{}, jobs.WrongState("roll back", job.Status)
	}
	// The batch is picked from the (job, id) index alone, newest first, then
	// joined to its contacts: fresh events have no statistics yet, and a plan
	// that starts from the contacts is quadratic.
	rows, err := tx.Query(ctx, `
		WITH batch AS MATERIALIZED (
			SELECT e.id, e.event_type, e.contact_id, e.new_data FROM import_events e
			WHERE e.import_job_id = $1
			  AND e.id < coalesce((SELECT r.event_id FROM import_event_reversals r WHERE r.import_job_id = $1
			                       ORDER BY r.event_id LIMIT 1), 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)
			ORDER BY e.id DESC
			LIMIT $2)
		SELECT b.id, b.event_type, b.contact_id, s.now = b.new_data, s.now, b.new_data
		FROM batch b JOIN contacts c ON c.id = b.contact_id,
			LATERAL (SELECT `+contacts.Snapshot+` AS now OFFSET 0) s
		ORDER BY b.id DESC
		FOR UPDATE OF c`, jobID, n)
	if err != nil {
		return Progress{}, fmt.Errorf("read events: %w", err)
	}
	var batch []eventRow
	for rows.Next() {
		var r eventRow
		var cur, next []byte
		if err := rows.Scan(&r.id, &r.typ, &r.contactID, &r.unchanged, &cur, &next); err != nil {
			rows.Close()
			return Progress{}, fmt.Errorf("read events: %w", err)
		}
		json.Unmarshal(cur, &r.current)
		json.Unmarshal(next, &r.newData)
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Progress{}, fmt.Errorf("read events: %w", err)
	}

	var deleteIDs, restoreEvents, eventIDs []string // uuids as text: exec mode sends text
	var outcomes, conflicts []*string
	nConflicts := 0
	for _, r := range batch {
		eventIDs = append(eventIDs, r.id.String())
		outcome := "reverted"
		var conflict *string
		switch {
		case r.typ == "skipped":
			outcome = "untouched"
		case !r.unchanged:
			outcome = "conflict"
			nConflicts++
			c := Conflict{ContactID: r.contactID, Event: r.typ, Changed: changed(r.current, r.newData)}
			json.Unmarshal(r.current["email"], &c.Email)
			b, _ := json.Marshal(c)
			s := string(b)
			conflict = &s
		case r.typ == "created":
			deleteIDs = append(deleteIDs, r.contactID.String())
		case r.typ == "updated":
			restoreEvents = append(restoreEvents, r.id.String())
		}
		outcomes = append(outcomes, &outcome)
		conflicts = append(conflicts, conflict)
	}
	if len(deleteIDs) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE contacts SET deleted_at = now() WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, deleteIDs); err != nil {
			return Progress{}, fmt.Errorf("soft-delete created contacts: %w", err)
		}
	}
	if len(restoreEvents) > 0 {
		// Every column back, timestamps included: the row is the snapshot.
		_, err := tx.Exec(ctx, `
			UPDATE contacts c SET workspace_id = p.workspace_id, email = p.email, first_name = p.first_name,
				last_name = p.last_name, phone = p.phone, company = p.company, job_title = p.job_title,
				website = p.website, street = p.street, city = p.city, region = p.region,
				postal_code = p.postal_code, country = p.country, tags = p.tags, custom_fields = p.custom_fields,
				created_at = p.created_at, updated_at = p.updated_at, deleted_at = p.deleted_at
			FROM import_events e, jsonb_populate_record(NULL::contacts, e.previous_data) p
			WHERE e.id = ANY($1::uuid[]) AND c.id = e.contact_id`, restoreEvents)
		if err != nil {
			return Progress{}, fmt.Errorf("restore updated contacts: %w", err)
		}
	}
	if len(eventIDs) > 0 {
		_, err := tx.Exec(ctx, `
			INSERT INTO import_event_reversals (event_id, import_job_id, tenant_id, outcome, conflict)
			SELECT x.id, $2, $5, x.outcome, x.conflict::jsonb
			FROM unnest($1::uuid[], $3::text[], $4::text[]) AS x(id, outcome, conflict)`,
			eventIDs, jobID, outcomes, conflicts, tenantID)
		if err != nil {
			return Progress{}, fmt.Errorf("record reversals: %w", err)
		}
		if err := jobs.RecordRollbackBatch(ctx, tx, jobID, len(eventIDs), nConflicts); err != nil {
			return Progress{}, err
		}
	}
	finished := len(batch) < n
	if finished {
		if err := jobs.CompleteRollback(ctx, tx, jobID); err != nil {
			return Progress{}, err
		}
	}
	return progress(ctx, tx, jobID, finished)
}

func progress(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, finished bool) (Progress, error) {
	rp, err := jobs.GetRollbackProgress(ctx, tx, jobID)
	return Progress{Events: rp.Events, Done: rp.Done, Conflicts: rp.Conflicts, Finished: finished}, err
}

// changed lists the columns where two contact snapshots differ.
func changed(current, imported map[string]json.RawMessage) []string {
	var out []string
	for k, v := range current {
		if w, ok := imported[k]; !ok || !jsonEqual(v, w) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// Conflicts returns up to n of the job's conflicts, in the order found.
func Conflicts(ctx context.Context, tx pgx.Tx, jobID uuid.UUID, n int) ([]Conflict, error) {
	rows, err := tx.Query(ctx, `SELECT conflict FROM import_event_reversals
		WHERE import_job_id = $1 AND outcome = 'conflict' ORDER BY created_at, event_id DESC LIMIT $2`, jobID, n)
	if err != nil {
		return nil, fmt.Errorf("read conflicts: %w", err)
	}
	defer rows.Close()
	out := []Conflict{}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var c Conflict
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
