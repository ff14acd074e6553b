package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

// The review flow from the CLI against a local stack: a mapping naming a
// column the file lacks is refused before any upload; --review --yes
// shows the table and starts; --review off a terminal leaves the job for
// 'portage start'; cancel; imports lists them newest first.
func TestReviewCommands(t *testing.T) {
	// Not parallel: it sets PORTAGE_API and PORTAGE_TOKEN.
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Config{Addr: "127.0.0.1:0", DatabaseURL: pgtest.URL(t), Root: "../..", RetryWaitScale: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	token, err := st.Token(uuid.New(), uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORTAGE_API", st.APIURL)
	t.Setenv("PORTAGE_TOKEN", token)
	onTerminal = func() bool { return false }
	dir := t.TempDir()
	file := filepath.Join(dir, "linkedin.csv")
	os.WriteFile(file, []byte("First Name,Last Name,Email Address,Company,Position\nAda,Lovelace,ada@example.com,Engines,Analyst\nbad,row,nope,,\n"), 0o644)
	cli := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, &out, &errOut)
		return out.String(), errOut.String(), err
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"E-mail": "email"}`), 0o644)
	if _, _, err := cli("import", file, "--mapping", bad); err == nil || !strings.Contains(err.Error(), `"E-mail", which`) {
		t.Fatalf("a mapping onto a missing column: %v", err)
	}
	if out, _, _ := cli("imports"); strings.Count(out, "\n") != 1 {
		t.Fatalf("a refused mapping created an import:\n%s", out)
	}

	out, _, err := cli("import", file, "--review", "--yes")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Email Address\s+ada@example.com · nope\s+email`).MatchString(out) || !strings.Contains(out, "created 1, updated 0, skipped 0, errors 1") {
		t.Fatalf("--review --yes printed:\n%s", out)
	}

	_, errOut, err := cli("import", file, "--review")
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`portage start ([0-9a-f-]{36})`).FindStringSubmatch(errOut)
	if id == nil {
		t.Fatalf("off a terminal, --review should say how to start:\n%s", errOut)
	}
	m := filepath.Join(dir, "m.json")
	os.WriteFile(m, []byte(`{"Position": "custom.position"}`), 0o644)
	if out, _, err = cli("start", id[1], "--mapping", m); err != nil || !strings.Contains(out, "completed") {
		t.Fatalf("start: %v\n%s", err, out)
	}

	_, errOut, _ = cli("import", file, "--review")
	id = regexp.MustCompile(`portage cancel ([0-9a-f-]{36})`).FindStringSubmatch(errOut)
	if out, _, err = cli("cancel", id[1]); err != nil || !strings.Contains(out, "cancelled before any row was saved") {
		t.Fatalf("cancel: %v\n%s", err, out)
	}
	out, _, _ = cli("imports")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], " cancelled ") || !strings.Contains(lines[3], "completed") {
		t.Fatalf("imports:\n%s", out)
	}
}

// Usage and help write flags one way: --flag.
func TestHelpShowsDoubleDashFlags(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"import", "start", "cancel", "imports", "export", "errors", "rollback", "dev", "preview", "token", "status"} {
		var out, errOut bytes.Buffer
		run(context.Background(), []string{cmd, "--help"}, &out, &errOut)
		help := errOut.String()
		if regexp.MustCompile(`(?m)^\s+-[a-z]`).MatchString(help) || !strings.Contains(help, "  --") {
			t.Errorf("%s --help shows a flag with one dash:\n%s", cmd, help)
		}
	}
}
