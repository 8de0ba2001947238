package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/version"
)

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "bmsched",
		Usage: "inventory and scheduler of build machine volumes on btrfs",
		Description: "bmsched keeps a database of the machines, revisions, bootstrapped images and\n" +
			"snapshot leases of a build host's machine volumes, and hands build workers\n" +
			"unique writable snapshots. `bmsched serve` is the daemon; every other command\n" +
			"talks to it over its Unix socket.\n\n" +
			"Exit codes: 0 done; 1 failed; 2 usage or invalid name; 3 not found; 4 no\n" +
			"capacity (or a wait timed out); 5 refused by state or permission; 6 daemon not\n" +
			"reachable.",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "socket", Value: api.DefaultSocket, EnvVars: []string{"BMSCHED_SOCKET"}, Usage: "the daemon's Unix socket"},
			&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"},
			&cli.DurationFlag{Name: "timeout", Value: DefaultTimeout, Usage: "give up (exit 6) when the daemon does not accept the connection, or begin its answer, within DUR; never cuts a stream, a receive, a bootstrap's command or a wait asked for (acquire --wait, delete --timeout); 0 for no bound"},
		},
		Commands: []*cli.Command{
			serveCommand(),
			listCommand(),
			showCommand(),
			acquireCommand(),
			releaseCommand(),
			renewCommand(),
			leasesCommand(),
			addCommand(),
			upgradeCommand(),
			rollbackCommand(),
			deleteCommand(),
			bootstrapCommand(),
			runCommand(),
			gcCommand(),
			demoCommand(),
			eventsCommand(),
			statusCommand(),
			dbCommand(),
			versionCommand(),
			completionCommand(),
			manCommand(),
		},
		EnableBashCompletion: true,
		Version:              version.Get().Version,
		// Errors are printed and mapped onto exit codes by run, once.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(err)
		},
		// An unknown command is a usage error, not a help topic.
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return exitf(api.ExitUsage, "unknown command %q (`bmsched help` lists the commands)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	setMachineCompletion(app.Commands)
	var vc *versionCheck
	app.Before = func(c *cli.Context) error { vc = startVersionCheck(c); return nil }
	app.After = func(c *cli.Context) error { vc.finish(c.App.ErrWriter); return nil }
	return app
}

// usageError turns a flag parser's complaint into exit 2 with a hint at
// the forms values take.
func usageError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "parse error") && strings.Contains(msg, "time"),
		strings.Contains(msg, "-ttl") || strings.Contains(msg, "-wait") || strings.Contains(msg, "-hold") || strings.Contains(msg, "-timeout"):
		msg += " (durations are written like 90s, 10m or 2h)"
	case strings.Contains(msg, "parse error"):
		msg += " (a number was expected)"
	}
	return &exitError{code: api.ExitUsage, err: errors.New(strings.Replace(msg, "flag -", "flag --", 1))}
}

func setUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return usageError(err)
	}
	for _, sub := range c.Subcommands {
		setUsageErrors(sub)
	}
}

// DefaultTimeout is the global --timeout: a daemon that is up answers in
// milliseconds.
const DefaultTimeout = 30 * time.Second

// client returns a client of the daemon named by --socket, bounded by the
// global --timeout.
func client(c *cli.Context) *api.Client { return clientWaiting(c, 0) }

// clientWaiting returns a client whose bound on the daemon's first byte
// also covers a wait the user asked the daemon for.
func clientWaiting(c *cli.Context, wait time.Duration) *api.Client {
	// The app's own --timeout, not a command's flag of the same name
	// (delete --timeout).
	var d time.Duration
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		// The outermost context that knows the flag is the app's.
		if lineage[i].Value("timeout") != nil {
			d = lineage[i].Duration("timeout")
			break
		}
	}
	if d > 0 {
		d += wait
	}
	cl := api.NewClientTimeout(c.String("socket"), d)
	cl.Doing = commandLine(c)
	return cl
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

// args checks the number of positional arguments.
func args(c *cli.Context, min, max int) ([]string, error) {
	a := c.Args().Slice()
	if len(a) < min || (max >= 0 && len(a) > max) {
		usage := strings.TrimSpace("bmsched " + c.Command.Name + " " + c.Command.ArgsUsage)
		if len(a) > max && max >= 0 {
			return nil, exitf(api.ExitUsage, "unexpected argument %q; usage: %s (see bmsched %s --help)", a[max], usage, c.Command.Name)
		}
		return nil, exitf(api.ExitUsage, "missing argument; usage: %s (see bmsched %s --help)", usage, c.Command.Name)
	}
	return a, nil
}

// stopSignals is cancelled by SIGINT, SIGTERM or SIGPIPE. Asking for
// SIGPIPE also turns a write to a closed pipe on stdout, which would kill
// the process before any deferred cleanup ran, into an EPIPE error.
func stopSignals(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
}
