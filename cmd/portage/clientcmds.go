package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/devtoken"
	"github.com/portagehq/portage/shared/jobs"
)

// defaultAPI is where client commands look for the API without PORTAGE_API:
// the local stack's default address.
const defaultAPI = "http://127.0.0.1:8080"

// apiClient is the client of PORTAGE_API with PORTAGE_TOKEN, or a dev
// token of the local tenant.
func apiClient() (*client.Client, error) {
	base := os.Getenv("PORTAGE_API")
	if base == "" {
		base = defaultAPI
	}
	token := os.Getenv("PORTAGE_TOKEN")
	if token == "" {
		var err error
		if token, err = devtoken.Mint(devtoken.Secret(), stack.LocalTenant, uuid.Nil, time.Hour); err != nil {
			return nil, err
		}
	}
	return &client.Client{BaseURL: base, Token: token}, nil
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mappingFile := fs.String("mapping", "", "JSON file with the field mapping {column: field}")
	dups := fs.String("duplicates", "skip", "what a row matching a contact does: skip, update, merge or update_only")
	var tags stringList
	fs.Var(&tags, "tag", "tag added to every created or updated contact (repeatable)")
	workspace := fs.String("workspace", "", "workspace id of created contacts")
	dryRun := fs.Bool("dry-run", false, "validate and count everything, keep nothing")
	overwrite := fs.Bool("overwrite-blanks", false, "with update: blank values in the file clear fields")
	noWait := fs.Bool("no-wait", false, "return once the file is uploaded")
	reviewFirst := fs.Bool("review", false, "show how the columns will be read and ask before anything is written")
	yes := fs.Bool("yes", false, "with --review: start without asking (for scripts)")
	asJSON := fs.Bool("json", false, "print the final job as JSON (the GET /v1/imports/{id} object)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage import FILE [flags]\n\nUploads FILE through the API (a presigned PUT, as the browser does) and\nfollows the import until it ends. With --review it first shows how each column\nwill be read and asks before anything is written. Flags:")
		printFlags(stderr, fs)
	}
	arg, err := oneArg(fs, args, "FILE")
	if err != nil {
		return err
	}
	opts := jobs.Options{DuplicateStrategy: *dups, Tags: tags, DryRun: *dryRun, OverwriteBlanks: *overwrite}
	if *workspace != "" {
		ws, err := uuid.Parse(*workspace)
		if err != nil {
			return exitError{2, fmt.Errorf("--workspace: %w", err)}
		}
		opts.WorkspaceID = &ws
	}
	req := client.ImportRequest{ImportOptions: &opts, Review: *reviewFirst}
	if req.FieldMapping, err = readMapping(*mappingFile); err != nil {
		return err
	}
	if err := checkMappingAgainstFile(arg, req.FieldMapping); err != nil {
		return err
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	j, err := c.ImportFile(ctx, arg, req)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stderr, "Uploaded %s as import %s\n", arg, j.ID)
	}
	if *reviewFirst {
		started, err := review(ctx, c, j, nil, *yes, stdout, stderr)
		if err != nil || !started {
			return err
		}
	}
	return report(ctx, c, j, *noWait, *asJSON, stdout, stderr)
}

// report prints a job as it is (noWait), or follows it to its end and
// prints that.
func report(ctx context.Context, c *client.Client, j client.Job, noWait, asJSON bool, stdout, stderr io.Writer) error {
	if noWait {
		return printJob(stdout, j, asJSON)
	}
	j, err := follow(ctx, c, j.ID.String(), stderr, !asJSON)
	if err != nil {
		return err
	}
	return finish(stdout, j, asJSON)
}

// follow waits for a job to end, drawing a progress bar of its import, or
// of its rollback once one has started, when asked.
func follow(ctx context.Context, c *client.Client, id string, stderr io.Writer, show bool) (client.Job, error) {
	imports, rollbacks := newBar(stderr, "importing", show), newBar(stderr, "rolling back", show)
	j, err := c.Wait(ctx, id, 300*time.Millisecond, func(j client.Job) {
		switch {
		case j.Rollback != nil:
			rollbacks.set(j.Rollback.Done, j.Rollback.Events)
		case j.TotalRows != nil:
			imports.set(j.ProcessedRows, *j.TotalRows)
		}
	})
	imports.finish()
	rollbacks.finish()
	return j, err
}

// finish prints the final job and turns a failed job into a failing exit.
func finish(stdout io.Writer, j client.Job, asJSON bool) error {
	if err := printJob(stdout, j, asJSON); err != nil {
		return err
	}
	switch j.Status {
	case jobs.StatusFailed:
		return exitError{1, fmt.Errorf("import %s failed", j.ID)}
	case jobs.StatusCancelled:
		return exitError{1, fmt.Errorf("import %s was cancelled", j.ID)}
	}
	return nil
}

func printJob(w io.Writer, j client.Job, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	}
	dry := ""
	if j.DryRun {
		dry = ", dry run: nothing was saved"
	}
	fmt.Fprintf(w, "Import %s: %s (%s%s)\n", j.ID, j.Status, j.FileName, dry)
	if j.TotalRows != nil {
		fmt.Fprintf(w, "  %d of %d rows processed (%.1f%%, %.0f rows/s)\n", j.ProcessedRows, *j.TotalRows, j.Percent, j.RowsPerSecond)
	}
	if j.DryRun {
		fmt.Fprintf(w, "  would create %d, would update %d, would skip %d, errors %d\n", j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount)
	} else {
		fmt.Fprintf(w, "  created %d, updated %d, skipped %d, errors %d\n", j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount)
	}
	if j.Status == jobs.StatusCancelled {
		fmt.Fprintf(w, "  %s\n", cancelledSummary(j))
	}
	if b := j.SkippedBy; b != nil && j.SkippedCount > 0 {
		fmt.Fprintf(w, "  skipped: %d repeating an earlier row, %d unchanged, %d kept by the duplicate strategy, %d with nothing to update\n",
			b.InFileDuplicates, b.Unchanged, b.KeptByStrategy, b.NoMatch)
	}
	if j.FailureReason != nil {
		fmt.Fprintf(w, "  failed: %s\n", *j.FailureReason)
	}
	errs, _ := decodeErrors(j.Errors)
	for i, e := range errs {
		if i == 10 {
			fmt.Fprintf(w, "  … %d more in the error report (portage errors %s)\n", j.ErrorCount-10, j.ID)
			break
		}
		if e.Row > 0 {
			fmt.Fprintf(w, "  row %d, %s: %s\n", e.Row, e.Column, e.Message)
		}
	}
	printRollback(w, j)
	return nil
}

// cancelledSummary says what a cancelled import had saved, and how to undo
// it.
func cancelledSummary(j client.Job) string {
	switch {
	case j.ProcessedRows == 0:
		return "cancelled before any row was saved: nothing to undo"
	case j.DryRun:
		return fmt.Sprintf("cancelled after %d of %d chunks had been checked (%d rows); nothing was saved", j.ChunksApplied, j.ChunkCount, j.ProcessedRows)
	}
	return fmt.Sprintf("cancelled: %d of %d chunks had been saved (%d rows); undo them with 'portage rollback %s'",
		j.ChunksApplied, j.ChunkCount, j.ProcessedRows, j.ID)
}

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	watch := fs.Bool("watch", false, "follow the job until it ends")
	asJSON := fs.Bool("json", false, "print the job as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage status JOB [--watch] [--json]")
		printFlags(stderr, fs)
	}
	arg, err := oneArg(fs, args, "JOB")
	if err != nil {
		return err
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	if *watch {
		j, err := follow(ctx, c, arg, stderr, !*asJSON)
		if err != nil {
			return err
		}
		return finish(stdout, j, *asJSON)
	}
	j, err := c.GetImport(ctx, arg)
	if err != nil {
		return err
	}
	return printJob(stdout, j, *asJSON)
}

func errorsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("errors", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("output", "", "write the report to this file (default: standard output)")
	fs.StringVar(out, "o", "", "") // the short name, not listed
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage errors JOB [--output FILE]\n\nThe full error report: a CSV line per row not imported, with the row number,\nthe result, the reasons and the row's original values.")
		printFlags(stderr, fs)
	}
	arg, err := oneArg(fs, args, "JOB")
	if err != nil {
		return err
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return c.Errors(ctx, arg, w)
}

func tokenCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant id (required)")
	user := fs.String("user", "", "user id")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage token --tenant ID [--user ID]\n\nMints a token the local stack's authorizer accepts; it is alone on the last line.")
		printFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := uuid.Parse(*tenant)
	if err != nil {
		fs.Usage()
		return exitError{2, fmt.Errorf("--tenant: a tenant UUID is required")}
	}
	var u uuid.UUID
	if *user != "" {
		if u, err = uuid.Parse(*user); err != nil {
			return exitError{2, fmt.Errorf("--user: %w", err)}
		}
	}
	tok, err := devtoken.Mint(devtoken.Secret(), t, u, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
