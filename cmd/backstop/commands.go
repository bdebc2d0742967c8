package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"backstop/internal/config"
	"backstop/internal/derrors"
)

// command is one subcommand. Commands with subcommands (tenant, user, audit)
// list them in sub.
type command struct {
	name    string
	summary string
	usage   string // arguments after the name, for the usage line
	help    string // more than the summary, printed after it by --help
	flags   func(fs *flag.FlagSet) func(ctx context.Context, io *stdio, args []string) error
	sub     []*command
}

func commands() []*command {
	return []*command{
		migrateCmd(),
		{name: "tenant", summary: "add, list and configure tenants", sub: []*command{tenantAddCmd(), tenantListCmd(), tenantSetCmd()}},
		{name: "user", summary: "add web app users", sub: []*command{userAddCmd()}},
		serveCmd(), workerCmd(), allCmd(), reconcileCmd(), reportCmd(),
		{name: "audit", summary: "export the audit trail", sub: []*command{auditExportCmd()}},
		simCmd(), demoCmd(),
		versionCmd(),
	}
}

func run(ctx context.Context, args []string, io *stdio) error {
	return dispatch(ctx, io, "backstop", commands(), args)
}

func dispatch(ctx context.Context, io *stdio, prefix string, cmds []*command, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printCommands(io.err, prefix, cmds)
		if len(args) == 0 {
			return errUsageShown
		}
		return nil
	}
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		if c.sub != nil {
			return dispatch(ctx, io, prefix+" "+c.name, c.sub, args[1:])
		}
		fs := flag.NewFlagSet(prefix+" "+c.name, flag.ContinueOnError)
		fs.SetOutput(io.err)
		runFn := c.flags(fs)
		fs.Usage = func() { printUsage(io.err, prefix, c, fs) }
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return errUsageShown
		}
		return runFn(ctx, io, fs.Args())
	}
	printCommands(io.err, prefix, cmds)
	return fmt.Errorf("%w: unknown command %q", derrors.InvalidArgument, args[0])
}

func printCommands(w io.Writer, prefix string, cmds []*command) {
	fmt.Fprintf(w, "Usage: %s COMMAND [flags]\n\nCommands:\n", prefix)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", prefix)
	if prefix == "backstop" {
		fmt.Fprintf(w, "\nEnvironment:\n")
		for _, v := range config.Vars {
			fmt.Fprintf(w, "  %-27s %s (default %s)\n", v.Name, v.Help, v.Default)
		}
	}
}

func printUsage(w io.Writer, prefix string, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s [flags]%s\n\n%s.\n", prefix, c.name, c.usage, upperFirst(c.summary))
	if c.help != "" {
		fmt.Fprintf(w, "\n%s", c.help)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.PrintDefaults()
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// loadConfig reads the environment and builds the logger (on stderr).
func loadConfig(io *stdio) (config.Config, *slog.Logger, error) {
	cfg, err := config.FromEnv(io.getenv)
	if err != nil {
		return cfg, nil, fmt.Errorf("%w: %v", derrors.InvalidArgument, err)
	}
	var h slog.Handler
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(io.err, nil)
	} else {
		h = slog.NewTextHandler(io.err, nil)
	}
	return cfg, slog.New(h), nil
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
