package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/postgres"
)

// statuses is the one table from an application error's code to the HTTP
// status the API answers with.
var statuses = map[apperr.Code]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.Gone:         http.StatusGone,
	apperr.Transient:    http.StatusServiceUnavailable,
	apperr.Internal:     http.StatusInternalServerError,
}

// Status is the HTTP status of err.
func Status(err error) int {
	if s, ok := statuses[apperr.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func badRequest(msg string) error { return &apperr.Error{Code: apperr.Invalid, Message: msg} }
func notFound(msg string) error   { return &apperr.Error{Code: apperr.NotFound, Message: msg} }
func tooLarge(msg string) error   { return &apperr.Error{Code: apperr.TooLarge, Message: msg} }
func unauthorized(msg string) error {
	return &apperr.Error{Code: apperr.Unauthorized, Message: msg}
}

// retryAfter is how many seconds a client waits before asking again after
// a 503: the database's pool frees a connection within seconds, a
// failover within tens.
const retryAfter = "2"

// writeError writes err as {"error": {code, message, details}} (docs/design.md §9).
// An error with no application code, or a transient one, is logged; an
// internal one is shown only as "internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	err = postgres.AppError(err) // a lost connection or a busy pool is a 503, not a 500
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal || e.Code == apperr.Transient {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if !ok || e.Code == apperr.Internal {
		e = &apperr.Error{Code: apperr.Internal, Message: "internal error"}
	}
	if e.Code == apperr.Transient {
		// The CLI and the page wait this long and ask again.
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, Status(e), map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // the client went away
}
