package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "bmsched",
		Usage: "inventory and scheduler of build machine volumes on btrfs",
		Description: "bmsched keeps a database of the machines, revisions, bootstrapped images and\n" +
			"snapshot leases of a build host's machine volumes, and hands build workers\n" +
			"unique writable snapshots. `bmsched serve` is the daemon; every other command\n" +
			"talks to it over its Unix socket.",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "socket", Value: api.DefaultSocket, EnvVars: []string{"BMSCHED_SOCKET"}, Usage: "the daemon's Unix socket"},
			&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"},
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
			gcCommand(),
			demoCommand(),
			eventsCommand(),
			dbCommand(),
		},
		HideHelpCommand: true,
		// Errors are printed and mapped onto exit codes by run, once.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &exitError{code: api.ExitUsage, err: err}
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

func setUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return &exitError{code: api.ExitUsage, err: err}
	}
	for _, sub := range c.Subcommands {
		setUsageErrors(sub)
	}
}

// client returns a client of the daemon named by --socket.
func client(c *cli.Context) *api.Client { return api.NewClient(c.String("socket")) }

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

// args checks the number of positional arguments.
func args(c *cli.Context, min, max int) ([]string, error) {
	a := c.Args().Slice()
	if len(a) < min || (max >= 0 && len(a) > max) {
		return nil, exitf(api.ExitUsage, "usage: bmsched %s %s", c.Command.Name, c.Command.ArgsUsage)
	}
	return a, nil
}
