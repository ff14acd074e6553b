package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/api"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// A pool with no connection free (every one held by other work) answers a
// request with 503 and Retry-After once postgres.AcquireTimeout has passed,
// instead of queueing it without end or answering 500.
func TestSaturatedPoolIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	pool := pgtest.BusyPool(t)
	srv := &api.Server{DB: pool, UploadsBucket: "uploads"}
	req := httptest.NewRequest(http.MethodGet, "/v1/imports", nil)
	req = req.WithContext(api.WithIdentity(req.Context(), api.Identity{TenantID: uuid.New()}))
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("saturated pool: %d, Retry-After %q, %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
