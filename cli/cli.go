// Package cli is Signoff's command line: the cobra commands, configuration
// loading, and Main, which wires the store, the approvals service and the
// HTTP server. It translates flags into approvals calls and approvals errors
// into exit statuses; no rule lives here.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/signoff-app/signoff/approvals"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit statuses.
const (
	ExitOK      = 0 // done
	ExitRefused = 1 // refused by a rule, not found, conflict, or an outage
	ExitUsage   = 2 // bad flags, arguments or configuration
)

// app is one invocation: its streams, environment and, once the command's
// flags are parsed, its configuration.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	configFile string
	jsonOut    bool

	cfg    Config
	logger *slog.Logger
	main   *Main // opened by service on first use, closed by Run
}

// Run runs the signoff command line with args (without the program name)
// and returns the exit status. Everything it needs comes in as arguments,
// so tests run it in-process.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, logger: slog.New(slog.NewTextHandler(stderr, nil))}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if a.main != nil {
		a.main.Close() // opened on first use by a command (see service)
	}
	if err == nil {
		return ExitOK
	}
	return a.report(cmd, err)
}

// usageError is a mistake in the command line: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// runError marks an error returned by a command's own work (as opposed to
// cobra's parsing), so that report can tell the two apart.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// report prints err as the single line "signoff: <message>" on stderr (plus
// the command's usage for usage errors without --json) and returns the exit
// status.
func (a *app) report(cmd *cobra.Command, err error) int {
	var (
		rerr *runError
		uerr *usageError
		cerr *ConfigError
		aerr *approvals.Error
	)
	code, msg, showUsage := ExitRefused, "", false
	switch {
	case errors.As(err, &uerr):
		code, msg, showUsage = ExitUsage, uerr.Error(), true
	case errors.As(err, &cerr):
		code = ExitUsage
		var lines []string
		for _, e := range unjoin(err) {
			lines = append(lines, e.Error())
		}
		msg = strings.Join(lines, "\n"+"signoff: ")
	case errors.As(err, &aerr):
		msg = approvals.ErrorMessage(err)
		if aerr.Code == approvals.EINTERNAL || aerr.Code == approvals.EUNAVAILABLE {
			a.logger.Debug("command failed", "code", aerr.Code, "err", err)
		}
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	case errors.As(err, &rerr):
		msg = rerr.Error()
	default:
		// Anything cobra returned while parsing: unknown flag or command,
		// missing required flag, wrong number of arguments.
		code, msg, showUsage = ExitUsage, err.Error(), true
	}
	if code != ExitUsage {
		msg = strings.ReplaceAll(msg, "\n", " ")
	}
	fmt.Fprintf(a.stderr, "signoff: %s\n", msg)
	if showUsage && !a.jsonOut && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// run adapts a command body: errors it returns are the command's own (exit 1
// unless they are usage or config errors).
func run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &runError{err}
		}
		return nil
	}
}

// group returns a command that only holds subcommands; run without one (or
// with an unknown one) it is a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s: missing subcommand", cmd.CommandPath())
			}
			return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
		},
	}
	c.AddCommand(subs...)
	return c
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "signoff",
		Short:         "Signoff: client sign-off on social-media drafts",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("missing command")
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := LoadConfig(a.configFile, cmd.Flags(), a.getenv)
			if err != nil {
				return err
			}
			a.cfg = cfg
			a.logger = cfg.Log.NewLogger(a.stderr)
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "configuration file (YAML; default $SIGNOFF_CONFIG or ./signoff.yaml if present)")
	pf.String("database-url", "", "PostgreSQL URL (database.url, $SIGNOFF_DATABASE_URL)")
	pf.String("log-level", "", "log level: debug, info, warn or error (log.level; default info)")
	pf.String("log-format", "", "log format: text or json (log.format; default text)")
	pf.BoolVar(&a.jsonOut, "json", false, "print one JSON document on stdout")

	root.AddCommand(
		a.serveCommand(),
		a.migrateCommand(),
		a.devCommand(),
		a.adminCommand(),
		a.draftCommand(),
		a.outboxCommand(),
		a.pruneCommand(),
		a.keysCommand(),
	)
	return root
}

// httpFlags adds the flags of commands that run the HTTP server.
func httpFlags(fs *pflag.FlagSet) {
	fs.String("http-addr", "", "listen address host:port (http.addr; default 127.0.0.1:8080, port 0 picks one)")
	fs.String("base-url", "", "public base URL (http.base_url; default http:// + http.addr)")
}

// print writes v as JSON with --json, else the human text.
func (a *app) print(v any, human string, args ...any) error {
	if a.jsonOut {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write json: %w", err)
		}
		return nil
	}
	_, err := fmt.Fprintf(a.stdout, human+"\n", args...)
	return err
}

// warn writes what the core wants the user to know beside its answer, on
// standard error so that standard output stays the answer alone.
func (a *app) warn(notes []string) {
	for _, n := range notes {
		fmt.Fprintf(a.stderr, "signoff: note: %s\n", n)
	}
}

// printList prints items as a JSON array ([] when there are none) with
// --json, else as a table: header, then one row per item (row returns its
// tab-separated cells), or empty instead when there are none and empty is
// not "".
func printList[T any](a *app, items []T, empty, header string, row func(T) string) error {
	if items == nil {
		items = []T{}
	}
	if a.jsonOut {
		return a.print(items, "")
	}
	if len(items) == 0 && empty != "" {
		return a.print(nil, empty)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, row(it))
	}
	return tw.Flush()
}

// service returns the service over the configured database, opening it
// on first use; Run closes it when the command is done.
func (a *app) service(ctx context.Context) (*approvals.Service, error) {
	if a.main == nil {
		m, err := a.openMain(ctx)
		if err != nil {
			return nil, err
		}
		a.main = m
	}
	return a.main.Service, nil
}
