package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portagehq/portage/shared/apperr"
)

// This file is the one place that reads the driver's errors: what a "no
// rows", a SQLSTATE or a broken connection means for the application.

// IsNotFound reports whether err is a query that found no row.
func IsNotFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// IsUniqueViolation reports whether err is a unique or primary key
// violation (SQLSTATE 23505).
func IsUniqueViolation(err error) bool { return sqlState(err) == "23505" }

// IsRetryable reports whether err is a serialization failure or deadlock,
// which the same transaction run again may not hit.
func IsRetryable(err error) bool {
	switch sqlState(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// IsConnectionError reports whether err means the server could not be
// reached or the connection broke, which a retry of the step may cure.
func IsConnectionError(err error) bool {
	if code := sqlState(err); code != "" {
		// Class 08: connection exception; 57P01..03: admin shutdown, crash, cannot connect now.
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // our own deadline: retrying within it cannot help
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	// The socket went away under a statement (a restart, a failover, RDS
	// Proxy dropping a client): the transaction did not commit, or if it
	// was the commit, the step's idempotency makes a rerun harmless.
	for _, lost := range []error{pgconn.ErrConnClosed, io.ErrUnexpectedEOF, io.EOF, net.ErrClosed,
		syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, lost) {
			return true
		}
	}
	return false
}

// AppError gives err the application code the driver's error implies: a
// lost conflict or a lost connection is apperr.Transient (a retry of the
// step may cure it). Application errors and anything else come back as
// they are.
func AppError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if IsRetryable(err) || IsConnectionError(err) {
		return apperr.Retryable(err)
	}
	return err
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
