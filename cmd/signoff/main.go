// Command signoff is Signoff's single binary: the server (serve), the
// database migrations (migrate), the admin and draft command lines, and a
// local development mode (dev). It only wires; the commands live in package
// cli.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/signoff-app/signoff/cli"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run runs the command line until it finishes or SIGINT/SIGTERM arrives
// (which cancels ctx: serve drains and exits 0).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, args, stdin, stdout, stderr, getenv)
}
