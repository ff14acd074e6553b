package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/readers"
)

func preview(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	n := fs.Int("rows", 5, "number of rows to show")
	sheet := fs.String("sheet", "", "XLSX sheet to read (default: the first visible one)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage preview FILE [--json] [--rows N] [--sheet NAME]\n\n"+
			"Shows the detected type, encoding and delimiter, the header, the first rows and\n"+
			"the suggested field mapping, read with the same code as the import pipeline.")
		printFlags(stderr, fs)
	}
	arg, err := oneArg(fs, args, "FILE")
	if err != nil {
		return err
	}
	f, err := os.Open(arg)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := importer.PreviewFile(f, arg, *n, readers.Options{Sheet: *sheet})
	if err != nil {
		return fmt.Errorf("%s: %w", arg, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	printPreview(stdout, p)
	return nil
}

func printPreview(w io.Writer, p importer.Preview) {
	fmt.Fprintf(w, "Type:      %s\nEncoding:  %s\n", p.FileType, p.Encoding)
	if p.Delimiter != "" {
		fmt.Fprintf(w, "Delimiter: %s\n", describeDelimiter(p.Delimiter))
	}
	if p.Sheet != "" {
		fmt.Fprintf(w, "Sheet:     %s\n", p.Sheet)
	}
	if p.HeaderRow > 1 {
		fmt.Fprintf(w, "Header:    row %d\n", p.HeaderRow)
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "Skipped:   row %d (%s): %s\n", s.Row, s.Why, s.Text)
	}
	fmt.Fprintln(w, "\nColumns and suggested mapping:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, h := range p.Header {
		sg := p.Suggestions[h]
		if sg.Field == "" {
			fmt.Fprintf(tw, "  %s\t→ (not imported)\t\n", h)
			continue
		}
		fmt.Fprintf(tw, "  %s\t→ %s\t%.0f%% (%s)\n", h, sg.Field, sg.Confidence*100, sg.Reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nFirst %d rows:\n", len(p.Rows))
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(p.Header, "\t"))
	for _, r := range p.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = strings.ReplaceAll(v, "\n", "⏎")
		}
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	tw.Flush()
	if !hasTarget(p.SuggestedMapping, "email") {
		fmt.Fprintln(w, "\nNo column maps to email, the match key: map one in the field mapping before importing.")
	}
}

func describeDelimiter(d string) string {
	switch d {
	case "\t":
		return "tab"
	case ",":
		return "comma (,)"
	case ";":
		return "semicolon (;)"
	case "|":
		return "pipe (|)"
	}
	return d
}

func hasTarget(m map[string]string, target string) bool {
	for _, t := range m {
		if t == target {
			return true
		}
	}
	return false
}
