package importer

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portagehq/portage/shared/apperr"
)

// A chunk that keeps losing conflicts waits between its tries, but not
// past its Lambda's deadline: a cancelled context ends the wait at once.
func TestRetryConflictsGivesWayToTheDeadline(t *testing.T) {
	t.Parallel()
	deadlock := &pgconn.PgError{Code: "40P01"}
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	err := retryConflicts(ctx, func() error {
		tries++
		cancel()
		return deadlock
	})
	// One try: the cancelled wait ended the loop, no second try after it.
	if tries != 1 || !errors.Is(err, context.Canceled) || !apperr.Is(err, apperr.Transient) {
		t.Fatalf("%d tries, %v", tries, err)
	}
	// Without a cancel, it tries maxConflictRetries more times and gives
	// the conflict back.
	tries = 0
	err = retryConflicts(context.Background(), func() error { tries++; return deadlock })
	if tries != maxConflictRetries+1 || !errors.Is(err, deadlock) {
		t.Fatalf("%d tries, %v", tries, err)
	}
}
