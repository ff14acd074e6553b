package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/portagehq/portage/shared/client"
)

// A read the API answers 503 with Retry-After is asked again until it is
// answered; a write is not (the person decides whether to send it again).
func TestBusyReadsAreAskedAgain(t *testing.T) {
	t.Parallel()
	var gets, posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := gets.Load()
		if r.Method == http.MethodPost {
			n = posts.Add(1) - 1
		} else {
			gets.Add(1)
		}
		if n < 2 || r.Method == http.MethodPost {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error": {"code": "unavailable", "message": "a service is briefly unavailable"}}`))
			return
		}
		w.Write([]byte(`{"id": "01a24a04-3a22-7c89-8631-510de1824de1", "status": "processing"}`))
	}))
	defer srv.Close()
	c := &client.Client{BaseURL: srv.URL, Token: "t"}
	j, err := c.GetImport(context.Background(), "01a24a04-3a22-7c89-8631-510de1824de1")
	if err != nil || j.Status != "processing" || gets.Load() != 3 {
		t.Fatalf("busy read: %v after %d requests, %s", err, gets.Load(), j.Status)
	}
	if _, err := c.Cancel(context.Background(), "01a24a04-3a22-7c89-8631-510de1824de1"); err == nil || posts.Load() != 1 {
		t.Fatalf("busy write: %v after %d requests", err, posts.Load())
	}
}
