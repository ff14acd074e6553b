// Command withpg runs a command with DATABASE_URL set: to the caller's own
// when it is already set, else to a throwaway PostgreSQL cluster that lives
// as long as the command.
//
//	go run ./local/withpg go test ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/portagehq/portage/local/pgcluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: withpg COMMAND [ARG]...")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := os.Environ()
	if os.Getenv("DATABASE_URL") == "" {
		c, err := pgcluster.Start(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "withpg: start PostgreSQL:", err)
			return 1
		}
		defer c.Stop()
		env = append(env, "DATABASE_URL="+c.URL)
		fmt.Fprintln(os.Stderr, "withpg: throwaway PostgreSQL at", c.URL)
	}
	cmd := exec.CommandContext(ctx, os.Args[1], os.Args[2:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "withpg:", err)
		return 1
	}
	return 0
}
