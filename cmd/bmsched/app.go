package main

import (
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/cliapp"
	"github.com/bmsched/bmsched/internal/version"
)

const appDescription = "bmsched keeps a database of the machines, revisions, bootstrapped images and\n" +
	"snapshot leases of a build host's machine volumes, and hands build workers\n" +
	"unique writable snapshots. `bmsched serve` is the daemon; every other command\n" +
	"talks to it over its Unix socket.\n\n" +
	"Exit codes: 0 done; 1 failed; 2 usage or invalid name; 3 not found; 4 no\n" +
	"capacity (or a wait timed out); 5 refused by state or permission; 6 daemon not\n" +
	"reachable."

// command is one of the client's commands, made only when it is needed.
type command struct {
	name string
	make func() *cli.Command
	// whole: the command reads the whole app (the manual page, the fish
	// completion), so that every command must be made.
	whole bool
}

// commands are the client's commands in the order help lists them.
var commands = []command{
	{name: "serve", make: func() *cli.Command { return cliapp.Find(daemonCommands(), "serve") }},
	{name: "list", make: listCommand},
	{name: "show", make: showCommand},
	{name: "acquire", make: acquireCommand},
	{name: "release", make: releaseCommand},
	{name: "renew", make: renewCommand},
	{name: "leases", make: leasesCommand},
	{name: "add", make: addCommand},
	{name: "upgrade", make: upgradeCommand},
	{name: "rollback", make: rollbackCommand},
	{name: "delete", make: deleteCommand},
	{name: "bootstrap", make: bootstrapCommand},
	{name: "run", make: runCommand},
	{name: "gc", make: gcCommand},
	{name: "demo", make: func() *cli.Command { return cliapp.Find(daemonCommands(), "demo") }},
	{name: "events", make: eventsCommand},
	{name: "status", make: statusCommand},
	{name: "db", make: func() *cli.Command { return cliapp.Find(daemonCommands(), "db") }},
	{name: "version", make: versionCommand},
	{name: "completion", make: completionCommand, whole: true},
	{name: "man", make: manCommand, whole: true},
}

// newApp is the client with every command.
func newApp(stdout, stderr io.Writer) *cli.App { return newAppFor(stdout, stderr, "") }

// newAppFor is the client as command needs it: with that command alone
// when it is one that stands alone, so that a worker's acquire or release
// does not make and set up the flags of twenty others; else with every
// command (help, the manual page, an unknown command).
func newAppFor(stdout, stderr io.Writer, name string) *cli.App {
	app := &cli.App{
		Name:                 "bmsched",
		Usage:                "inventory and scheduler of build machine volumes on btrfs",
		Description:          appDescription,
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                cliapp.GlobalFlags(),
		Commands:             makeCommands(name),
		EnableBashCompletion: true,
		Version:              version.Get().Version,
		// Errors are printed and mapped onto exit codes by run, once.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(err)
		},
		Action: unknownCommand,
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

// makeCommands makes the command name alone when it stands alone, else
// every command.
func makeCommands(name string) []*cli.Command {
	for _, c := range commands {
		if c.name == name && !c.whole {
			return []*cli.Command{c.make()}
		}
	}
	all := make([]*cli.Command, len(commands))
	for i, c := range commands {
		all[i] = c.make()
	}
	return all
}

// unknownCommand is the app's action: an unknown command is a usage
// error, not a help topic; no command at all shows the help.
func unknownCommand(c *cli.Context) error {
	if c.Args().Present() {
		return exitf(api.ExitUsage, "unknown command %q (`bmsched help` lists the commands)", c.Args().First())
	}
	return cli.ShowAppHelp(c)
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
