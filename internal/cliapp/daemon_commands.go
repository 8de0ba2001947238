package cliapp

import (
	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

// DaemonCommands are bmschedd's commands, their names, flags and help
// without their actions: bmschedd gives them their actions, and bmsched
// lists them in its help, manual page and completion and runs bmschedd
// for them.
func DaemonCommands() []*cli.Command {
	return []*cli.Command{serveCommand(), demoCommand(), dbCommand()}
}

// Find is the command at path (a name, then a subcommand's) in cmds.
func Find(cmds []*cli.Command, path ...string) *cli.Command {
	var c *cli.Command
	for _, name := range path {
		c = nil
		for _, x := range cmds {
			if x.HasName(name) {
				c = x
				break
			}
		}
		if c == nil {
			return nil
		}
		cmds = c.Subcommands
	}
	return c
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the daemon: own the database, watch the volumes, answer on the socket",
		Description: "Every flag is also read from BMSCHED_ and its name in capitals with\n" +
			"underscores (BMSCHED_MACHINES, BMSCHED_MAX_LEASES, BMSCHED_LOG_FORMAT), so that\n" +
			"a systemd EnvironmentFile= configures the daemon; a flag given wins. Under\n" +
			"systemd it takes the socket the .socket unit passes (LISTEN_FDS), says READY=1\n" +
			"once recovery is done, STOPPING=1 at shutdown, and pings WatchdogSec=.\n" +
			"With --warm N it keeps N writable snapshots ready (.bmsched-warm-pool in\n" +
			"the machine's directory) of each image acquired within --warm-idle, and an\n" +
			"acquire takes one by rename; `bmsched show` and `bmsched status` report them.\n" +
			"The daemon is the program bmschedd, which bmsched serve runs.",
		Flags: ServeFlags(),
	}
}

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "lay out a sample machine volume in a temporary directory, run the daemon on it and walk through the commands",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "plain", Usage: "use plain directories even where a loop-mounted btrfs could be made"},
		},
	}
}

func dbCommand() *cli.Command {
	dbFlag := &cli.StringFlag{Name: "db", Value: "/var/lib/bmsched/bmsched.db", Usage: "database file"}
	return &cli.Command{
		Name:               "db",
		Usage:              "offline maintenance of the database (refused while a daemon holds it)",
		CustomHelpTemplate: dbHelpTemplate,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return Exitf(api.ExitUsage, "unknown db subcommand %q: use check, dump, migrate or compact (`bmsched help db`)", c.Args().First())
			}
			return Exitf(api.ExitUsage, "db needs a subcommand: check, dump, migrate or compact (`bmsched help db`)")
		},
		Subcommands: []*cli.Command{
			{Name: "check", Usage: "verify the file and every record", Flags: []cli.Flag{dbFlag}},
			{Name: "dump", Usage: "print every record as `bucket key json`", Flags: []cli.Flag{dbFlag}},
			{Name: "migrate", Usage: "apply pending schema migrations (the daemon also does at start)", Flags: []cli.Flag{dbFlag}},
			{Name: "compact", Usage: "rewrite the file without its free pages", Flags: []cli.Flag{dbFlag}},
			{
				Name:  "rebuild",
				Usage: "make a new database from the machines root: every tagged snapshot is adopted as an orphaned lease",
				Description: "For a lost or damaged database. The daemon must be stopped (it holds the root). " +
					"An existing --db is kept beside the new one with --force, and refused without.",
				Flags: []cli.Flag{
					dbFlag,
					&cli.StringFlag{Name: "machines", Value: "/build/machines", Usage: "machines root holding the volumes"},
					&cli.StringFlag{Name: "driver", Value: "auto", Usage: "storage driver: auto, btrfs or plain"},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing database file, keeping it as FILE.old-TIME"},
				},
			},
		},
	}
}

// dbHelpTemplate lists the subcommands from the command itself: `bmsched
// help db` renders it before the command is set up, when urfave/cli's own
// subcommand template still sees no subcommands.
const dbHelpTemplate = `NAME:
   bmsched db - {{.Usage}}

USAGE:
   bmsched db COMMAND --db FILE

COMMANDS:{{range .Subcommands}}{{if not .Hidden}}
   {{join .Names ", "}}{{"\t"}}{{.Usage}}{{end}}{{end}}

OPTIONS:
   --db FILE   the database file (default: /var/lib/bmsched/bmsched.db)
`
