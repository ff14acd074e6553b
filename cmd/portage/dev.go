package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/portagehq/portage/local/stack"
)

func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address")
	root := fs.String("root", ".", "the project directory (template.yaml, statemachine/)")
	data := fs.String("data", defaultDataDir(), "keeps the stack's data (PostgreSQL unless DATABASE_URL is set, S3, executions) across restarts")
	fresh := fs.Bool("fresh", false, "throw the data away at exit instead (ignores --data)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portage dev [--addr HOST:PORT] [--data DIR | --fresh]\n\nRuns the local stack in the foreground: PostgreSQL (DATABASE_URL, else a\ncluster kept in --data), S3 (versitygw), the Step Functions runner, the Lambdas\nand the HTTP API. Run it from the project's root. Stop it with Ctrl-C; start it\nagain and its jobs, files and executions are still there (an execution the stop\ncut off is failed and can be redriven).")
		printFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := *data
	if *fresh {
		dir = ""
	}
	st, err := stack.Start(ctx, stack.Config{Addr: *addr, Root: *root, DataDir: dir,
		Log:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Progress: func(step string) { fmt.Fprintln(stderr, "Starting", step+"…") }})
	if err != nil {
		return err
	}
	defer st.Close()
	token, err := st.Token(stack.LocalTenant, uuid.Nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Portage local stack\n  Open           %s/ in a browser (its sign-in page offers the dev token)\n  API            %s (GET /healthz)\n"+
		"  S3             %s (buckets %s, %s)\n                 AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws s3 ls --endpoint-url %s s3://%s --recursive\n"+
		"  Step Functions %s\n                 import   %s\n                 rollback %s\n  PostgreSQL     %s\n\n",
		st.APIURL, st.APIURL, st.S3.Endpoint, stack.UploadsBucket, stack.ExportsBucket, st.S3.AccessKey, st.S3.SecretKey, st.S3.Endpoint,
		stack.UploadsBucket, st.SFNURL, st.MachineARN, st.RollbackARN, st.AdminURL)
	if dir != "" {
		fmt.Fprintf(stdout, "Data kept in %s (portage dev --fresh throws it away)\n", dir)
	}
	fmt.Fprintf(stdout, "Try: PORTAGE_API=%s portage import contacts.csv\n", st.APIURL)
	fmt.Fprintf(stdout, "     aws stepfunctions list-executions --endpoint-url %s --state-machine-arn %s\n", st.SFNURL, st.MachineARN)
	fmt.Fprintf(stdout, "Dev token (tenant %s):\n%s\n", stack.LocalTenant, token)
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping")
	return nil
}

// defaultDataDir is where portage dev keeps its data: the user's cache.
func defaultDataDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "portage", "dev")
	}
	return filepath.Join(os.TempDir(), "portage-dev")
}
