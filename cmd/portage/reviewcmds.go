package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/readers"
	"github.com/portagehq/portage/shared/textcut"
)

// stdin and onTerminal are where a confirmation is asked; tests replace
// them.
var (
	stdin      io.Reader = os.Stdin
	onTerminal           = func() bool {
		st, err := os.Stdin.Stat()
		return err == nil && st.Mode()&os.ModeCharDevice != 0
	}
)

// checkMappingAgainstFile refuses, before anything is uploaded, a mapping
// that names a field Portage does not know or a column the file does not
// have (read with the pipeline's own readers).
func checkMappingAgainstFile(path string, m map[string]string) error {
	if len(m) == 0 {
		return nil
	}
	if err := mapping.CheckTargets(m); err != nil {
		return exitError{2, fmt.Errorf("--mapping: %w", err)}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := importer.PreviewFile(f, path, 0, readers.Options{})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, h := range p.Header {
		have[strings.ToLower(h)] = true
	}
	var missing []string
	for col := range m {
		if !have[strings.ToLower(col)] {
			missing = append(missing, fmt.Sprintf("%q", col))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return exitError{2, fmt.Errorf("--mapping names %s, which %s does not have; its columns are %q",
			strings.Join(missing, ", "), path, p.Header)}
	}
	return nil
}

// review prints a job's inspection and, on a terminal, asks whether to
// start it; with yes it starts at once. It returns whether it started.
func review(ctx context.Context, c *client.Client, j client.Job, mappingOverride map[string]string, yes bool, stdout, stderr io.Writer) (bool, error) {
	j, in, err := c.WaitReview(ctx, j.ID.String(), 300*time.Millisecond)
	if err != nil {
		return false, err
	}
	if j.Status != jobs.StatusAwaitingReview {
		return false, printJob(stdout, j, false)
	}
	printInspection(stdout, in, mappingOverride)
	if !yes {
		if !onTerminal() {
			fmt.Fprintf(stderr, "Review the mapping above, then start the import with\n  portage start %s [--mapping m.json]\nor cancel it with\n  portage cancel %s\n", j.ID, j.ID)
			return false, nil
		}
		fmt.Fprint(stderr, "Start the import with this mapping? [y/N] ")
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintf(stderr, "Not started. Start it later with 'portage start %s', or cancel it with 'portage cancel %s'.\n", j.ID, j.ID)
			return false, nil
		}
	}
	if _, err := c.Start(ctx, j.ID.String(), client.StartRequest{FieldMapping: mappingOverride}); err != nil {
		return false, err
	}
	return true, nil
}

// printInspection writes the suggested mapping as a table: column, sample
// values, the field it goes to and how sure the suggestion is.
func printInspection(w io.Writer, in client.Inspection, override map[string]string) {
	rows := "about "
	if in.RowsCounted {
		rows = ""
	}
	fmt.Fprintf(w, "%s: %s%d rows, %d columns (%s)\n", in.FileName, rows, in.EstimatedRows, len(in.Header), in.FileType)
	if in.MappingSource == importer.FromMemory {
		fmt.Fprintln(w, "The mapping is the one you confirmed for these columns last time.")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tSAMPLES\tIMPORT AS\tSUGGESTION")
	for i, col := range in.Header {
		var samples []string
		for _, r := range in.Rows {
			if i < len(r) && strings.TrimSpace(r[i]) != "" && len(samples) < 3 {
				samples = append(samples, strings.TrimSpace(r[i]))
			}
		}
		field, why := in.SuggestedMapping[col], ""
		if sg, ok := in.Suggestions[col]; ok && sg.Field != "" {
			why = fmt.Sprintf("%.0f%% %s", 100*sg.Confidence, sg.Reason)
		}
		if f, ok := override[col]; ok {
			field, why = f, "from --mapping"
		}
		if field == "" {
			field = "(not imported)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", col, textcut.Runes(strings.Join(samples, " · "), 48), field, why)
	}
	tw.Flush()
	for _, p := range in.Problems {
		fmt.Fprintln(w, "Problem:", p)
	}
}

func startCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mappingFile := fs.String("mapping", "", "JSON file {column: field} changing the suggested mapping (\"\" leaves a column out)")
	noWait := fs.Bool("no-wait", false, "return once the import has started")
	asJSON := fs.Bool("json", false, "print the final job as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage start JOB [--mapping m.json] [--no-wait] [--json]\n\nStarts an import that waits for review (portage import --review), with the\nsuggested mapping or the changes in --mapping, and follows it.")
		printFlags(stderr, fs)
	}
	arg, err := oneArg(fs, args, "JOB")
	if err != nil {
		return err
	}
	m, err := readMapping(*mappingFile)
	if err != nil {
		return err
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	j, err := c.Start(ctx, arg, client.StartRequest{FieldMapping: m})
	if err != nil {
		return err
	}
	return report(ctx, c, j, *noWait, *asJSON, stdout, stderr)
}

func cancelCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the job as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage cancel JOB [--json]\n\nStops an import at once: no row is saved after the cancel. Before any row was\n"+
			"saved its upload is deleted; while it runs, the chunks in progress are rolled\nback, and what had been saved is counted and can be undone with 'portage rollback JOB'.")
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
	j, err := c.Cancel(ctx, arg)
	if err != nil {
		return err
	}
	return printJob(stdout, j, *asJSON)
}

func importsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("imports", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 20, "how many imports to list (at most 100)")
	asJSON := fs.Bool("json", false, "print the list as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage imports [--limit N] [--json]\n\nThe history of imports, newest first.")
		printFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	list, err := c.ListImports(ctx, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tFILE\tSTATUS\tROWS\tCREATED\tUPDATED\tSKIPPED\tERRORS")
	for _, j := range list {
		status := j.Status
		if j.DryRun {
			status += " (dry run)"
		}
		rows := ""
		if j.TotalRows != nil {
			rows = fmt.Sprint(*j.TotalRows)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", j.ID, j.CreatedAt.Local().Format("2006-01-02 15:04"), textcut.Runes(j.FileName, 32),
			status, rows, j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount)
	}
	return tw.Flush()
}

// readMapping reads a --mapping file, or nothing when path is "".
func readMapping(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, exitError{2, fmt.Errorf("--mapping %s: %w", path, err)}
	}
	return m, nil
}

// printFlags lists a command's flags the way the usage writes them:
// --name VALUE, then what it does and its default. A flag with no usage is
// a short alias (-o of --output), accepted and not listed.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" {
			return // a short alias of a listed flag
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + strings.ToUpper(name)
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
