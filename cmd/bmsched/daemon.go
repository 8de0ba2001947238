package main

import (
	"os"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/cliapp"
)

// daemonProgram is the daemon's executable: serve, demo and the offline
// db commands are its, so that bmsched links neither the server, its
// metrics nor the database.
const daemonProgram = "bmschedd"

// argvKey is where run keeps the command line as given, in the app's
// Metadata, for the daemon's commands to pass on.
const argvKey = "argv"

// daemonCommands are bmschedd's commands as bmsched shows them; running
// one runs bmschedd with the same command line.
func daemonCommands() []*cli.Command {
	cmds := cliapp.DaemonCommands()
	var wire func([]*cli.Command)
	wire = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if len(c.Subcommands) > 0 {
				// db alone says which subcommands there are, here.
				wire(c.Subcommands)
				continue
			}
			// bmschedd parses the flags, --help included.
			c.SkipFlagParsing = true
			c.Action = execDaemon
		}
	}
	wire(cmds)
	return cmds
}

// execDaemon replaces this process by bmschedd with the same arguments
// and environment. Exec, rather than a child, keeps the pid, which
// systemd's notify socket and socket activation (LISTEN_PID) rely on, and
// leaves signals to the daemon.
func execDaemon(c *cli.Context) error {
	argv, _ := c.App.Metadata[argvKey].([]string)
	if len(argv) == 0 {
		return exitf(api.ExitFailed, "%s: no command line to pass on", c.Command.Name)
	}
	path, err := cliapp.Program(daemonProgram)
	if err != nil {
		return err
	}
	// argv[0] is bmschedd's path, not bmsched's: a program that looks at
	// its own name (a test binary standing for both does) sees the daemon.
	err = syscall.Exec(path, append([]string{path}, argv[1:]...), os.Environ())
	return exitf(api.ExitFailed, "run %s for bmsched %s: %v", path, c.Command.FullName(), err)
}
