// Command signoff-bench measures Signoff on this machine: it starts a
// throwaway PostgreSQL, SMTP sink and fake Slack, builds and runs `signoff
// serve` against them as its own process, prints each figure with its
// target and writes them to bench/results.json. See package bench.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/signoff-app/signoff/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
