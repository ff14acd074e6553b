package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/api"
	"github.com/portagehq/portage/shared/apperr"
)

// call sends one request to a Server with no database: the branches tested
// here answer before any query.
func call(t *testing.T, method, path, body string, id *api.Identity) (int, map[string]any) {
	t.Helper()
	srv := &api.Server{UploadsBucket: "uploads"}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if id != nil {
		req = req.WithContext(api.WithIdentity(req.Context(), *id))
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	var out struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body, err)
	}
	return rec.Code, out.Error
}

func TestNoTokenIs401(t *testing.T) {
	t.Parallel()
	for _, route := range []string{"GET /v1/imports", "POST /v1/imports", "GET /v1/exports/x", "GET /nowhere"} {
		method, path, _ := strings.Cut(route, " ")
		status, e := call(t, method, path, `{}`, nil)
		if status != http.StatusUnauthorized || e["code"] != "unauthorized" {
			t.Errorf("%s without a token: %d %v, want 401 unauthorized", route, status, e)
		}
	}
}

// The file-type rules of POST /v1/imports, each a 400 that says what to do.
func TestCreateImportFileTypes(t *testing.T) {
	t.Parallel()
	id := &api.Identity{TenantID: uuid.New()}
	for _, tt := range []struct {
		name, body, want string
		status           int
	}{
		{"UnknownExtension", `{"file_name": "contacts.pdf", "file_size": 10}`, `cannot tell the type of "contacts.pdf"`, 400},
		{"NoExtension", `{"file_name": "contacts", "file_size": 10}`, "cannot tell the type", 400},
		{"UnknownFileType", `{"file_name": "contacts", "file_size": 10, "file_type": "pdf"}`, `unknown file type "pdf"`, 400},
		{"TypeAgainstName", `{"file_name": "contacts.csv", "file_size": 10, "file_type": "xlsx"}`, "does not match the file name", 400},
		{"Empty", `{"file_name": "contacts.csv", "file_size": 0}`, "file_size must be", 400},
		{"TooLarge", `{"file_name": "contacts.csv", "file_size": 1099511627776}`, "the limit is", 413},
		{"BadOption", `{"file_name": "contacts.csv", "file_size": 10, "import_options": {"duplicate_strategy": "replace"}}`, "duplicate_strategy", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, e := call(t, "POST", "/v1/imports", tt.body, id)
			msg, _ := e["message"].(string)
			if status != tt.status || !strings.Contains(msg, tt.want) {
				t.Fatalf("%d %v, want %d containing %q", status, e, tt.status, tt.want)
			}
		})
	}
}

// The one table: every code has its status, and an error without a code
// is a 500.
func TestStatus(t *testing.T) {
	t.Parallel()
	for code, want := range map[apperr.Code]int{apperr.Invalid: 400, apperr.Unauthorized: 401, apperr.NotFound: 404,
		apperr.Conflict: 409, apperr.Gone: 410, apperr.TooLarge: 413, apperr.Transient: 503, apperr.Internal: 500} {
		if got := api.Status(apperr.New(code, "x")); got != want {
			t.Errorf("%s: %d, want %d", code, got, want)
		}
	}
	if got := api.Status(http.ErrHandlerTimeout); got != 500 {
		t.Errorf("an error without a code: %d, want 500", got)
	}
}
