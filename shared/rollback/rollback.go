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
	batch, err := contacts.RollbackBatch(ctx, tx, jobID, n)
	if err != nil {
		return Progress{}, err
	}
	var deletes, restores []contacts.Reverting
	var eventIDs []string // uuids as text: exec mode sends text
	var outcomes, conflicts []*string
	nConflicts := 0
	for _, r := range batch {
		eventIDs = append(eventIDs, r.EventID.String())
		outcome := "reverted"
		var conflict *string
		switch {
		case r.Type == "skipped":
			outcome = "untouched"
		case !r.Unchanged:
			outcome = "conflict"
			nConflicts++
			var current, imported map[string]json.RawMessage
			json.Unmarshal(r.Current, &current)
			json.Unmarshal(r.NewData, &imported)
			c := Conflict{ContactID: r.ContactID, Event: r.Type, Changed: changed(current, imported)}
			json.Unmarshal(current["email"], &c.Email)
			b, _ := json.Marshal(c)
			s := string(b)
			conflict = &s
		case r.Type == "created":
			deletes = append(deletes, r)
		case r.Type == "updated":
			restores = append(restores, r)
		}
		outcomes = append(outcomes, &outcome)
		conflicts = append(conflicts, conflict)
	}
	restores, created, err := contacts.BeforeUndone(ctx, tx, restores)
	if err != nil {
		return Progress{}, err
	}
	deletes = append(deletes, created...)
	if len(deletes) > 0 {
		if err := contacts.SoftDelete(ctx, tx, deletes); err != nil {
			return Progress{}, err
		}
	}
	if len(restores) > 0 {
		if err := contacts.Restore(ctx, tx, restores); err != nil {
			return Progress{}, err
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
