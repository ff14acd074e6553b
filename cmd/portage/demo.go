package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
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

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage demo\n\nImports a generated sample file with typical mistakes into the database\n"+
			"DATABASE_URL names (`make demo` starts a throwaway one), then imports an\n"+
			"update of it, and prints what happened. Exits 0 when all worked.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return exitError{2, errors.New("demo: DATABASE_URL is not set; run `make demo`")}
	}
	if _, err := postgres.Migrate(ctx, url); err != nil {
		return err
	}
	pool, err := postgres.NewPool(ctx, postgres.PoolConfig{URL: url, MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()
	dir, err := os.MkdirTemp("", "portage-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d := importer.Deps{DB: pool, Store: objstore.Dir(filepath.Join(dir, "bucket")), ChunkRows: 2}
	tenant := uuid.New()
	if err := postgres.InTenantTx(ctx, pool, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'Demo tenant')`, tenant)
		return err
	}); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "Sample file (contacts.csv):\n\n%s\n", indent(demoFile))
	first, err := demoImport(ctx, d, tenant, "contacts.csv", demoFile, jobs.Options{Tags: []string{"demo"}})
	if err != nil {
		return err
	}
	printJob(stdout, "First import (duplicate_strategy=skip)", first)

	update := "email,company,phone\nada@example.com,Babbage & Co,\nnew@example.com,Newco,+1 555 000 1111\n"
	second, err := demoImport(ctx, d, tenant, "update.csv", update, jobs.Options{DuplicateStrategy: jobs.Update})
	if err != nil {
		return err
	}
	printJob(stdout, "Second import (duplicate_strategy=update)", second)

	if first.CreatedCount != 3 || first.ErrorCount != 2 || first.SkippedCount != 1 || second.UpdatedCount != 1 || second.CreatedCount != 1 {
		return fmt.Errorf("demo: unexpected counters (first %d/%d/%d, second %d/%d)",
			first.CreatedCount, first.ErrorCount, first.SkippedCount, second.UpdatedCount, second.CreatedCount)
	}
	if err := printContacts(ctx, stdout, pool, tenant); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Demo complete: every row is accounted for.")
	return nil
}

func demoImport(ctx context.Context, d importer.Deps, tenant uuid.UUID, name, content string, opts jobs.Options) (jobs.ImportJob, error) {
	if err := opts.Validate(); err != nil {
		return jobs.ImportJob{}, err
	}
	id := uuid.New()
	key := fmt.Sprintf("uploads/%s/%s/%s", tenant, id, name)
	if err := d.Store.Put(ctx, key, strings.NewReader(content)); err != nil {
		return jobs.ImportJob{}, err
	}
	err := postgres.InTenantTx(ctx, d.DB, tenant, func(tx pgx.Tx) error {
		return jobs.CreateImport(ctx, tx, jobs.NewImport{ID: id, TenantID: tenant, FileName: name,
			FileSize: int64(len(content)), FileURL: key, SourceKey: key, Options: opts})
	})
	if err != nil {
		return jobs.ImportJob{}, err
	}
	prep, err := importer.Prepare(ctx, d, tenant, id)
	if err != nil {
		return jobs.ImportJob{}, err
	}
	rc, err := d.Store.Get(ctx, prep.ManifestKey)
	if err != nil {
		return jobs.ImportJob{}, err
	}
	chunks, err := readManifest(rc)
	if err != nil {
		return jobs.ImportJob{}, err
	}
	for _, c := range chunks {
		if _, err := importer.ApplyChunk(ctx, d, c); err != nil {
			return jobs.ImportJob{}, err
		}
	}
	return importer.Finalize(ctx, d, tenant, id)
}

func printJob(w io.Writer, title string, j jobs.ImportJob) {
	fmt.Fprintf(w, "%s: %s\n", title, j.Status)
	fmt.Fprintf(w, "  rows %d: created %d, updated %d, skipped %d, errors %d\n",
		*j.TotalRows, j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount)
	errs, _ := decodeErrors(j.Errors)
	for _, e := range errs {
		fmt.Fprintf(w, "  row %d, %s: %s\n", e.Row, e.Column, e.Message)
	}
	fmt.Fprintln(w)
}

func printContacts(ctx context.Context, w io.Writer, pool postgres.Beginner, tenant uuid.UUID) error {
	fmt.Fprintln(w, "Contacts now:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  email\tfirst_name\tlast_name\tcompany\tphone\tpostal_code\ttags")
	err := postgres.InTenantTx(ctx, pool, tenant, func(tx pgx.Tx) error {
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
