package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/portagehq/portage/shared/postgres"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage migrate\n\nApplies every pending migration to the database DATABASE_URL names.\n"+
			"Safe to run again: applied migrations are skipped.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return exitError{2, errors.New("migrate: DATABASE_URL is not set")}
	}
	applied, err := postgres.Migrate(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "Schema is up to date.")
		return nil
	}
	fmt.Fprintf(stdout, "Applied migrations %v.\n", applied)
	return nil
}
