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
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/portagehq/portage/shared/client"
)

const usage = `portage — contact import/export for multi-tenant CRMs

Usage:
  portage dev [--addr HOST:PORT] [--data DIR | --fresh]
                                   run the local stack in the foreground (API on --addr,
                                   default 127.0.0.1:8080, GET /healthz); prints its URLs
                                   and a dev token
  portage demo                     local stack, a generated sample file with typical
                                   mistakes, import through the API, summary; exits 0
                                   when all worked
  portage import FILE [--mapping m.json] [--duplicates skip|update|merge|update_only]
                 [--tag T]... [--workspace ID] [--dry-run] [--overwrite-blanks]
                 [--review [--yes]] [--no-wait] [--json]
                                   upload and import a file; --review shows how its
                                   columns will be read and asks first
  portage start JOB [--mapping m.json] [--no-wait] [--json]
                                   start an import that waits for review
  portage cancel JOB [--json]      stop an import at once (what it had saved can be rolled back)
  portage imports [--limit N] [--json]
                                   the history of imports, newest first
  portage status JOB [--watch] [--json]
  portage errors JOB [--output FILE]
  portage rollback JOB [--json] [--no-wait]
                                   undo an import; contacts changed since are reported
                                   as conflicts; run again to resume
  portage export --format csv|xlsx|json [--type full|filtered|segment] [--fields a,b]
                 [--filter JSON] [--segment ID] [--output FILE] [--raw] [--json]
                                   export the live contacts and download the file
  portage preview FILE [--json] [--rows N] [--sheet NAME]
                                   detected type, encoding, delimiter, header, first rows,
                                   suggested mapping (same reader code as the pipeline)
  portage migrate                  apply the migrations to DATABASE_URL
  portage token --tenant ID [--user ID]
                                   a dev token for the local authorizer, alone on the
                                   last line

Client commands talk to PORTAGE_API (default http://127.0.0.1:8080) with
PORTAGE_TOKEN, or with a dev token of the local tenant
00000000-0000-4000-8000-000000000001 when it is unset.
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
		if h := hint(err); h != "" {
			fmt.Fprintln(os.Stderr, "  "+h)
		}
		os.Exit(1)
	}
}

// hint says what to do about the errors a newcomer meets first.
func hint(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return "The token is missing, wrong or expired: set PORTAGE_TOKEN to a token from your identity provider " +
			"(for the local stack, unset it, or mint one with 'portage token --tenant ID')."
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		api := os.Getenv("PORTAGE_API")
		if api == "" {
			api = defaultAPI
		}
		return fmt.Sprintf("Nothing answers at %s (PORTAGE_API): is 'portage dev' (or 'make dev') running?", api)
	}
	return ""
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
	case "dev":
		return devCmd(ctx, args[1:], stdout, stderr)
	case "import":
		return importCmd(ctx, args[1:], stdout, stderr)
	case "status":
		return statusCmd(ctx, args[1:], stdout, stderr)
	case "start":
		return startCmd(ctx, args[1:], stdout, stderr)
	case "cancel":
		return cancelCmd(ctx, args[1:], stdout, stderr)
	case "imports":
		return importsCmd(ctx, args[1:], stdout, stderr)
	case "errors":
		return errorsCmd(ctx, args[1:], stdout, stderr)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "rollback":
		return rollbackCmd(ctx, args[1:], stdout, stderr)
	case "export":
		return exportCmd(ctx, args[1:], stdout, stderr)
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

// oneArg parses a command's flags around its single positional argument
// (what names it in the usage error).
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", exitError{2, fmt.Errorf("%s needs exactly one %s", fs.Name(), what)}
	}
	return pos[0], nil
}
