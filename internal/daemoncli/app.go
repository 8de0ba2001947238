// Package daemoncli is the program bmschedd: the daemon (serve), the demo
// that runs one, and the offline database commands, which link the server,
// its metrics and the database. The client bmsched runs bmschedd for these
// commands, with the same command line.
package daemoncli

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/cliapp"
	"github.com/bmsched/bmsched/internal/version"
)

// Run is the whole program, returning its exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(cliapp.Permute(app, args))
	if err == nil {
		return 0
	}
	// As bmsched prints its errors: the user typed `bmsched serve`.
	fmt.Fprintln(stderr, "bmsched:", cliapp.EscText(err.Error()))
	return cliapp.ExitCode(err)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	cmds := cliapp.DaemonCommands()
	cliapp.Find(cmds, "serve").Action = serve
	cliapp.Find(cmds, "demo").Action = demo
	for name, action := range dbActions {
		cliapp.Find(cmds, "db", name).Action = action
	}
	app := &cli.App{
		Name:  "bmschedd",
		Usage: "the bmsched daemon and its offline database commands (bmsched serve, demo and db run it)",
		Description: "bmschedd owns the database and the machine volumes and answers on the\n" +
			"Unix socket; `bmsched help` describes every command.",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags:     cliapp.GlobalFlags(),
		Commands:  cmds,
		Version:   version.Get().Version,
		// Errors are printed and mapped onto exit codes by Run, once.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cliapp.UsageError(err)
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return cliapp.Exitf(api.ExitUsage, "unknown command %q: bmschedd runs serve, demo and db; the others are bmsched's", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, c := range app.Commands {
		cliapp.SetUsageErrors(c)
	}
	return app
}
