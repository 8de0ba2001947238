package main

import (
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/cliapp"
	"github.com/bmsched/bmsched/internal/version"
)

func newApp(stdout, stderr io.Writer) *cli.App {
	daemon := daemonCommands()
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
		Flags:     cliapp.GlobalFlags(),
		Commands: []*cli.Command{
			cliapp.Find(daemon, "serve"),
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
			cliapp.Find(daemon, "demo"),
			eventsCommand(),
			statusCommand(),
			cliapp.Find(daemon, "db"),
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

// client returns a client of the daemon named by --socket, bounded by the
// global --timeout.
func client(c *cli.Context) *api.Client { return clientWaiting(c, 0) }

// clientWaiting returns a client whose bound on the daemon's first byte
// also covers a wait the user asked the daemon for.
func clientWaiting(c *cli.Context, wait time.Duration) *api.Client {
	d := globalTimeout(c)
	if d > 0 {
		d += wait
	}
	cl := api.NewClientTimeout(c.String("socket"), d)
	cl.Doing = commandLine(c)
	return cl
}

// globalTimeout is the app's own --timeout, not a command's flag of the
// same name (delete --timeout).
func globalTimeout(c *cli.Context) time.Duration {
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		// The outermost context that knows the flag is the app's.
		if lineage[i].Value("timeout") != nil {
			return lineage[i].Duration("timeout")
		}
	}
	return 0
}
