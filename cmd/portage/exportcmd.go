package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/jobs"
)

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "csv, xlsx or json (required)")
	typ := fs.String("type", "", "full, filtered or segment (default: full, or filtered with --filter, segment with --segment)")
	fields := fs.String("fields", "", "comma-separated fields, in order (default: every standard field, tags, timestamps)")
	filter := fs.String("filter", "", `filter JSON, e.g. '{"tags":["vip"]}'`)
	segment := fs.String("segment", "", "segment id")
	out := fs.String("output", "", "file to write (default: contacts-<id>.<format>)")
	fs.StringVar(out, "o", "", "") // the short name, not listed
	raw := fs.Bool("raw", false, "csv: write values unchanged, even those a spreadsheet would run as formulas")
	asJSON := fs.Bool("json", false, "print the final export job as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage export --format csv|xlsx|json [--type full|filtered|segment] [--fields a,b]\n"+
			"                      [--filter JSON] [--segment ID] [--output FILE] [--raw] [--json]\n\n"+
			"Exports the live contacts through the API, waits, and downloads the file.")
		printFlags(stderr, fs)
	}
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if *format == "" {
		fs.Usage()
		return exitError{2, errors.New("--format is required")}
	}
	req := client.ExportRequest{ExportType: *typ, FileFormat: *format, SegmentID: *segment}
	if *filter != "" {
		if !json.Valid([]byte(*filter)) {
			return exitError{2, errors.New("--filter is not valid JSON")}
		}
		req.Filters = json.RawMessage(*filter)
		if req.ExportType == "" {
			req.ExportType = "filtered"
		}
	}
	if *segment != "" && req.ExportType == "" {
		req.ExportType = "segment"
	}
	if *fields != "" {
		for _, f := range strings.Split(*fields, ",") {
			req.SelectedFields = append(req.SelectedFields, strings.TrimSpace(f))
		}
	}
	if *raw {
		no := false
		req.FormulaSafe = &no
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	e, err := c.CreateExport(ctx, req)
	if err != nil {
		return err
	}
	pb := newBar(stderr, "exporting", !*asJSON)
	e, err = c.WaitExport(ctx, e.ID.String(), 300*time.Millisecond, func(e client.Export) {
		if e.TotalContacts != nil {
			pb.set(e.ProcessedContacts, *e.TotalContacts)
		}
	})
	pb.finish()
	if err != nil {
		return err
	}
	if e.Status == jobs.StatusFailed {
		reason := ""
		if e.FailureReason != nil {
			reason = ": " + *e.FailureReason
		}
		return exitError{1, fmt.Errorf("export %s failed%s", e.ID, reason)}
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("contacts-%s.%s", e.ID, e.FileFormat)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.Download(ctx, e, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	fmt.Fprintf(stdout, "Export %s: %d contacts written to %s (%d bytes); the server keeps it until %s\n",
		e.ID, e.ProcessedContacts, path, deref64(e.FileSize), e.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
