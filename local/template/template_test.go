package template_test

import (
	"os"
	"testing"
	"time"

	"github.com/portagehq/portage/local/template"
)

// Every function in template.yaml has a folder under functions/, and the
// timeouts the local stack uses are the template's.
func TestFunctionsMatchTheTemplate(t *testing.T) {
	t.Parallel()
	fns, err := template.Functions("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"api": 29 * time.Second, "import-trigger": 30 * time.Second,
		"import-inspect": 300 * time.Second, "import-prepare": 900 * time.Second, "import-chunk": 300 * time.Second,
		"import-finalize": 120 * time.Second, "import-fail": 30 * time.Second, "rollback": 120 * time.Second,
		"export": 900 * time.Second, "export-sweeper": 300 * time.Second}
	if len(fns) != len(want) {
		t.Fatalf("template has functions %v", fns)
	}
	for name, timeout := range want {
		if fns[name].Timeout != timeout {
			t.Errorf("%s timeout %s, want %s", name, fns[name].Timeout, timeout)
		}
		if _, err := os.Stat("../../functions/" + name + "/main.go"); err != nil {
			t.Errorf("function %s has no functions/%s/main.go", name, name)
		}
	}
}

// The HTTP API runs on the $default stage, so API Gateway's paths are the
// routes' own; the local front sends the template's route key.
func TestAPIStageAndRoute(t *testing.T) {
	t.Parallel()
	api, err := template.API("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if api.Stage != "$default" || api.RouteKey != "ANY /{proxy+}" || api.ProxyParam != "proxy" {
		t.Fatalf("API = %+v, want stage $default, route ANY /{proxy+}", api)
	}
}
