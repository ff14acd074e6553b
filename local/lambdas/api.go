package lambdas

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Handler serves Lambda's Invoke API (POST
// /2015-03-31/functions/{name}/invocations), so the production Lambda
// client works against the registry. An "Event" invocation is queued and
// answered 202 at once, then run with up to two retries, as Lambda runs
// asynchronous invocations; "RequestResponse" runs at once.
func (r *Registry) Handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, ok := strings.CutPrefix(req.URL.Path, "/2015-03-31/functions/")
		name, ok2 := strings.CutSuffix(rest, "/invocations")
		if req.Method != http.MethodPost || !ok || !ok2 {
			http.Error(w, `{"Type":"User","message":"unknown operation"}`, http.StatusNotFound)
			return
		}
		payload, err := io.ReadAll(io.LimitReader(req.Body, 6<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.Header.Get("X-Amz-Invocation-Type") == "Event" {
			go func() {
				for attempt := 0; attempt < 3; attempt++ {
					_, err := r.Invoke(context.Background(), name, payload)
					if err == nil {
						return
					}
					log.Error("asynchronous invocation failed", "function", name, "attempt", attempt+1, "error", err)
					time.Sleep(time.Duration(attempt+1) * time.Second)
				}
			}()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		out, err := r.Invoke(req.Context(), name, payload)
		if fe, ok := err.(*FunctionError); ok {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, fe.Cause())
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(out)
	})
}
