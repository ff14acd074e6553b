package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/devtoken"
	"github.com/portagehq/portage/shared/postgres/pgtest"
)

func TestPreviewJSON(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/people.csv"
	os.WriteFile(path, []byte("E-mail;Prénom;Notes\nada@example.com;Ada;\"a;b\"\n"), 0o644)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"preview", path, "--json"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"file_type": "csv", "encoding": "utf-8", "delimiter": ";", "encoding_guessed": true, "header_row": float64(1),
		"header":            []any{"E-mail", "Prénom", "Notes"},
		"rows":              []any{[]any{"ada@example.com", "Ada", "a;b"}},
		"suggested_mapping": map[string]any{"E-mail": "email", "Prénom": "first_name", "Notes": ""},
		"suggestions": map[string]any{"E-mail": map[string]any{"field": "email", "confidence": float64(1), "reason": "header"},
			"Prénom": map[string]any{"field": "first_name", "confidence": float64(1), "reason": "header"},
			"Notes":  map[string]any{"field": "", "confidence": float64(0)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("preview --json = %v\nwant %v", got, want)
	}
}

func TestPreviewHuman(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"preview", "../../shared/readers/testdata/contacts.xlsx"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Type:      xlsx", "Sheet:     Contacts", "Email", "→ email", "Signed Up", "(not imported)", "2024-03-04"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestPreviewDamagedFile(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"preview", "../../shared/readers/testdata/unbalanced-quote.csv"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "line 3: a quoted value starting here is never closed") {
		t.Fatalf("error = %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"nope"}, {"preview"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		var ee exitError
		if !asExit(err, &ee) || ee.code != 2 {
			t.Errorf("%v: error %v, want a usage error (exit 2)", args, err)
		}
	}
}

func asExit(err error, target *exitError) bool {
	e, ok := err.(exitError)
	*target = e
	return ok
}

func TestDemo(t *testing.T) {
	// Not parallel: it sets DATABASE_URL for the command.
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--root", "../.."}, &out, &errOut); err != nil {
		t.Fatal(err, out.String(), errOut.String())
	}
	for _, s := range []string{"completed (contacts.csv)", "created 3, updated 0, skipped 1, errors 2",
		"created 1, updated 1, skipped 0, errors 0", "4,error,E-mail Address: not a valid email address",
		"6,skipped,duplicate of row 2", "Babbage & Co", "+442079460958", "00501", "(csv, 4 contacts",
		"grace@example.com,Grace,Hopper,5551234567,Navy; Research", "Demo complete"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("demo output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	tenant := "6f1c1e0e-8f7c-4d2e-9a7e-2b1d3c4e5f60"
	if err := run(context.Background(), []string{"token", "--tenant", tenant}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	claims, err := devtoken.Verify(devtoken.Secret(), lines[len(lines)-1])
	if err != nil || claims["tenant_id"] != tenant {
		t.Fatalf("token claims %v, %v", claims, err)
	}
	if err := run(context.Background(), []string{"token"}, &out, &errOut); err == nil {
		t.Fatal("a token without a tenant was minted")
	}
}

// migrate applies every migration to an empty database, then finds nothing
// to do on a second run.
func TestMigrate(t *testing.T) {
	// Not parallel: it sets DATABASE_URL for the command.
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("portage_migrate_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	cfg, _ := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
	t.Setenv("DATABASE_URL", fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name))

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "Applied migrations [1 2 3 4 5 6 7 8 9 10 11 12 13].\n" {
		t.Fatalf("first migrate printed %q", got)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "Schema is up to date.\n" {
		t.Fatalf("second migrate printed %q", got)
	}
}

// The first errors a newcomer meets say what to do.
func TestHints(t *testing.T) {
	t.Setenv("PORTAGE_API", "http://127.0.0.1:1")
	if h := hint(&client.APIError{Status: http.StatusUnauthorized}); !strings.Contains(h, "PORTAGE_TOKEN") {
		t.Errorf("401 hint %q", h)
	}
	_, err := http.Get("http://127.0.0.1:1/")
	if h := hint(err); !strings.Contains(h, "http://127.0.0.1:1 (PORTAGE_API)") {
		t.Errorf("connection refused hint %q (%v)", h, err)
	}
	if h := hint(errors.New("something else")); h != "" {
		t.Errorf("hint for another error: %q", h)
	}
}
