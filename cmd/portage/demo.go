package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/local/stack"
	"github.com/portagehq/portage/shared/client"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/postgres"
)

// demoFile is a small export from another CRM with the mistakes real files
// have: a semicolon delimiter, synonyms for headers, accents, a quoted
// delimiter, an invalid and a missing email, a duplicate in another case,
// leading zeros, phones in every format.
const demoFile = "E-mail Address;Given Name;Surname;Organization;Mobile Phone;Zip;Tags\n" +
	"ada@example.com;Ada;Lovelace;Analytical Engines;+44 20 7946 0958;02134;vip\n" +
	"grace@example.com;Grace;Hopper;\"Navy; Research\";(555) 123-4567;00501;vip, navy\n" +
	"linus@example;Linus;Torvalds;Linux;;;\n" +
	";Margaret;Hamilton;NASA;;;\n" +
	"ADA@example.com;Ada;Byron;;;;\n" +
	"zoe@example.com;Zoë;Ünal;Café Société;0044 20 1234 5678;75001;\n"

const demoUpdate = "email,company,phone\nada@example.com,Babbage & Co,\nnew@example.com,Newco,+1 555 000 1111\n"

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the project directory (template.yaml, statemachine/)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage demo\n\nStarts the local stack, imports a generated sample file with typical mistakes\n"+
			"through the API exactly as a browser would (presigned upload, S3 event, state\n"+
			"machine, chunk Lambdas), then an update of it, exports the result, and prints\n"+
			"what happened.\n"+
			"Exits 0 when all worked. Uses DATABASE_URL when set, else a throwaway cluster.")
		printFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "Starting the local stack…")
	st, err := stack.Start(ctx, stack.Config{Addr: "127.0.0.1:0", Root: *root, ChunkRows: 2,
		Progress: func(step string) { fmt.Fprintln(stderr, "  starting", step+"…") }})
	if err != nil {
		return err
	}
	defer st.Close()
	tenant := uuid.New()
	token, err := st.Token(tenant, uuid.New())
	if err != nil {
		return err
	}
	c := &client.Client{BaseURL: st.APIURL, Token: token}
	dir, err := os.MkdirTemp("", "portage-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(stdout, "Sample file (contacts.csv):\n\n%s\n\n", indent(demoFile))
	first, err := demoImport(ctx, c, filepath.Join(dir, "contacts.csv"), demoFile, jobs.Options{Tags: []string{"demo"}}, stderr)
	if err != nil {
		return err
	}
	printJob(stdout, first, false)
	fmt.Fprintln(stdout)
	second, err := demoImport(ctx, c, filepath.Join(dir, "update.csv"), demoUpdate, jobs.Options{DuplicateStrategy: jobs.Update}, stderr)
	if err != nil {
		return err
	}
	printJob(stdout, second, false)
	fmt.Fprintln(stdout)
	var report strings.Builder
	if err := c.Errors(ctx, first.ID.String(), &report); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Error report of the first import (portage errors %s):\n%s\n", first.ID, indent(report.String()))
	if err := printContacts(ctx, stdout, st.DB, tenant); err != nil {
		return err
	}
	ex, err := c.CreateExport(ctx, client.ExportRequest{FileFormat: "csv"})
	if err != nil {
		return err
	}
	if ex, err = c.WaitExport(ctx, ex.ID.String(), 100*time.Millisecond, nil); err != nil {
		return err
	}
	var file strings.Builder
	if ex.Status != jobs.StatusCompleted {
		return fmt.Errorf("demo: export %s", ex.Status)
	}
	if err := c.Download(ctx, ex, &file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Export %s (csv, %d contacts, %d bytes, downloadable until %s):\n%s\n\n", ex.ID, ex.ProcessedContacts,
		*ex.FileSize, ex.ExpiresAt.UTC().Format(time.RFC3339), indent(strings.TrimPrefix(file.String(), "\uFEFF")))
	if ex.ProcessedContacts != 4 || first.Status != jobs.StatusCompleted || second.Status != jobs.StatusCompleted || first.CreatedCount != 3 ||
		first.ErrorCount != 2 || first.SkippedCount != 1 || second.UpdatedCount != 1 || second.CreatedCount != 1 {
		return fmt.Errorf("demo: unexpected outcome (first %s %d/%d/%d, second %s %d/%d)", first.Status,
			first.CreatedCount, first.ErrorCount, first.SkippedCount, second.Status, second.UpdatedCount, second.CreatedCount)
	}
	fmt.Fprintln(stdout, "Demo complete: every row is accounted for.")
	return nil
}

func demoImport(ctx context.Context, c *client.Client, path, content string, opts jobs.Options, stderr io.Writer) (client.Job, error) {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return client.Job{}, err
	}
	j, err := c.ImportFile(ctx, path, client.ImportRequest{ImportOptions: &opts})
	if err != nil {
		return j, err
	}
	return follow(ctx, c, j.ID.String(), stderr, true)
}

func printContacts(ctx context.Context, w io.Writer, db postgres.Beginner, tenant uuid.UUID) error {
	fmt.Fprintln(w, "Contacts now:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  email\tfirst_name\tlast_name\tcompany\tphone\tpostal_code\ttags")
	err := postgres.InTenantTx(ctx, db, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT email, coalesce(first_name, ''), coalesce(last_name, ''), coalesce(company, ''),
			coalesce(phone, ''), coalesce(postal_code, ''), array_to_string(tags, ', ')
			FROM contacts WHERE deleted_at IS NULL ORDER BY email`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v [7]string
			if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
				return err
			}
			fmt.Fprintln(tw, "  "+strings.Join(v[:], "\t"))
		}
		return rows.Err()
	})
	tw.Flush()
	fmt.Fprintln(w)
	return err
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
