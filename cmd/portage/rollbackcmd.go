package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/portagehq/portage/shared/client"
)

func rollbackCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the final job as JSON")
	noWait := fs.Bool("no-wait", false, "return once the rollback has started")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage rollback JOB [--json] [--no-wait]\n\nUndoes an import: contacts it created are deleted, contacts it updated get\n"+
			"their previous values back. Contacts changed since the import are left as they\nare and reported as conflicts. Running it again resumes an interrupted rollback.")
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
	j, err := c.Rollback(ctx, arg)
	if err != nil {
		return err
	}
	if !*noWait {
		if j, err = follow(ctx, c, arg, stderr, !*asJSON); err != nil {
			return err
		}
	}
	return printJob(stdout, j, *asJSON)
}

func printRollback(w io.Writer, j client.Job) {
	r := j.Rollback
	if r == nil {
		return
	}
	fmt.Fprintf(w, "  rollback: %d of %d events reversed, %d conflicts\n", r.Done, r.Events, r.Conflicts)
	for i, c := range r.ConflictList {
		if i == 20 {
			fmt.Fprintf(w, "  … %d more (portage status %s --json)\n", r.Conflicts-20, j.ID)
			break
		}
		fmt.Fprintf(w, "  conflict: %s (%s) changed since the import: %v\n", c.Email, c.ContactID, c.Changed)
	}
}
