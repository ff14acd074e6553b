package jobs

import (
	"fmt"
	"slices"

	"github.com/portagehq/portage/shared/apperr"
)

// Status values of import_jobs.status.
const (
	StatusPending = "pending"
	// StatusAwaitingReview: a job created with review was inspected and
	// waits for a person to start (or cancel) it.
	StatusAwaitingReview = "awaiting_review"
	StatusProcessing     = "processing"
	StatusCompleted      = "completed"
	StatusFailed         = "failed"
	// StatusRollingBack: a rollback is under way (batches are reversing
	// the job's events).
	StatusRollingBack = "rolling_back"
	StatusRolledBack  = "rolled_back"
	// StatusCancelled: a person stopped the import. What its chunks had
	// committed before the cancel stays (the counters say how much) and can
	// be rolled back; nothing is written after it.
	StatusCancelled = "cancelled"
)

// Statuses are every import status, in the order a job meets them.
var Statuses = []string{StatusPending, StatusAwaitingReview, StatusProcessing, StatusCompleted, StatusFailed, StatusCancelled, StatusRollingBack, StatusRolledBack}

// Op is a change of an import job's status.
type Op string

// The operations on an import job's status, each one function of this
// package.
const (
	OpAwaitReview      Op = "inspect"           // AwaitReview
	OpStart            Op = "start"             // StartReviewed
	OpPrepare          Op = "prepare"           // MarkPrepared
	OpReopen           Op = "reopen"            // Reopen: a redriven execution goes on
	OpComplete         Op = "complete"          // Complete
	OpFail             Op = "fail"              // MarkFailed
	OpCancel           Op = "cancel"            // MarkCancelled
	OpBeginRollback    Op = "begin rollback"    // BeginRollback
	OpCompleteRollback Op = "complete rollback" // CompleteRollback
)

// Transition says which statuses an operation moves a job from, and to
// which.
type Transition struct {
	From []string
	To   string
}

// Transitions is the one table of the moves an import job may make. Every
// statement that changes import_jobs.status takes its WHERE from here, and
// transitions_test.go runs each operation from every status against it.
var Transitions = map[Op]Transition{
	// Inspect run again (a retry, a restarted runner) records its new
	// token and inspection.
	OpAwaitReview: {From: []string{StatusPending, StatusAwaitingReview}, To: StatusAwaitingReview},
	// The person confirmed the mapping: the execution goes on to prepare.
	OpStart: {From: []string{StatusAwaitingReview}, To: StatusPending},
	// A retried prepare of a job already processing records the same again.
	OpPrepare: {From: []string{StatusPending, StatusProcessing}, To: StatusProcessing},
	// Only a job that was prepared (total_rows known) reopens.
	OpReopen:   {From: []string{StatusFailed}, To: StatusProcessing},
	OpComplete: {From: []string{StatusProcessing}, To: StatusCompleted},
	// Failing a failed job again keeps its first errors.
	OpFail: {From: []string{StatusPending, StatusAwaitingReview, StatusProcessing, StatusFailed}, To: StatusFailed},
	// A cancel ends the job at once, whatever it was doing: no chunk
	// commits after it (ChunkMayCommit), so its counters are final.
	OpCancel: {From: []string{StatusPending, StatusAwaitingReview, StatusProcessing}, To: StatusCancelled},
	// A failed or cancelled job's applied chunks are kept, so it can be
	// rolled back too.
	OpBeginRollback:    {From: []string{StatusCompleted, StatusFailed, StatusCancelled}, To: StatusRollingBack},
	OpCompleteRollback: {From: []string{StatusRollingBack}, To: StatusRolledBack},
}

// Allowed reports whether op may move a job that is in status.
func Allowed(op Op, status string) bool {
	return slices.Contains(Transitions[op].From, status)
}

// from is the statuses op moves a job from, for a status = ANY($n) clause.
func from(op Op) []string { return Transitions[op].From }

// ErrWrongState is the conflict of an operation the job's status does not
// allow; the error a caller gets wraps it with the operation and status.
var ErrWrongState = &apperr.Error{Code: apperr.Conflict, Message: "the import is in a state that does not allow this"}

// WrongState is the error of an action (an Op, or a step such as "apply a
// chunk to") on a job in status.
func WrongState(action, status string) error {
	return &apperr.Error{Code: apperr.Conflict, Message: fmt.Sprintf("cannot %s an import that is %s", action, status),
		Err: ErrWrongState}
}
