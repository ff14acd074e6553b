package apperr

// Error names the task Lambdas return, as Step Functions sees them: the
// errorType of the Lambda's error response, which ErrorEquals matches.
// aws-lambda-go would name an error by its Go type; the task adapters
// (shared/lambdafn) return these names instead, so what the state machines
// match is this table, not a type name.
const (
	// TaskInput: a bad file or setting; the job fails with the message and no
	// retry can help.
	TaskInput = "InputError"
	// TaskTransient: a retry of the step may cure it.
	TaskTransient = "TransientError"
	// TaskConflict: the job is in a state that does not allow the step (it
	// was rolled back meanwhile).
	TaskConflict = "ConflictError"
	// TaskInternal: anything else; the execution fails where an operator
	// can redrive it.
	TaskInternal = "InternalError"
	// TaskPanic: a panic in a handler, reported instead of the panic
	// value's type.
	TaskPanic = "PanicError"
	// TaskCancelled is the error the API fails a waiting review task with
	// (SendTaskFailure) when a person cancels the import.
	TaskCancelled = "ImportCancelled"
	// TaskNotReviewed is the error the import state machine records when
	// the review window closes.
	TaskNotReviewed = "NotReviewed"
)

// taskNames is the one table from code to task error name.
var taskNames = map[Code]string{
	Invalid:   TaskInput,
	TooLarge:  TaskInput,
	Gone:      TaskInput,
	Transient: TaskTransient,
	Conflict:  TaskConflict,
	// A task whose job does not exist was given a bad input.
	NotFound: TaskInput,
}

// TaskNames are every name a state machine may meet from Portage: those
// TaskName gives, and the review step's.
var TaskNames = []string{TaskInput, TaskTransient, TaskConflict, TaskInternal, TaskPanic, TaskCancelled, TaskNotReviewed}

// TaskName is the error name a task Lambda returns for err.
func TaskName(err error) string {
	if n, ok := taskNames[CodeOf(err)]; ok {
		return n
	}
	return TaskInternal
}
