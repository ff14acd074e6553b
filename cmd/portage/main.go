// Command portage is Portage's command-line tool: previews of files, schema
// migrations and, as the local stack arrives, the client commands of the
// HTTP API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `portage — contact import/export for multi-tenant CRMs

Usage:
  portage preview FILE [--json] [--rows N] [--sheet NAME]
      Show what Portage detects in FILE (type, encoding, delimiter), its header,
      its first rows and the field mapping it would use.
  portage migrate
      Apply the database migrations to DATABASE_URL.
  portage demo
      Import a generated sample file with typical mistakes into DATABASE_URL's
      database, then an update of it, and print what happened.

Run 'portage COMMAND --help' for a command's options.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var exit exitError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &exit):
		fmt.Fprintln(os.Stderr, "portage:", exit.err)
		os.Exit(exit.code)
	default:
		fmt.Fprintln(os.Stderr, "portage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2, errors.New("no command given")}
	}
	switch args[0] {
	case "preview":
		return preview(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return exitError{2, fmt.Errorf("unknown command %q", args[0])}
}

// exitError carries the process exit code: 2 for usage errors.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

// parseInterleaved parses flags that may come before or after the
// positional arguments ("preview FILE --json") and returns the positionals.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
