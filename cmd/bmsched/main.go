// Command bmsched is the client of the bmsched daemon: build workers'
// acquire, run and release, and operators' commands. The daemon is the
// separate program bmschedd, which `bmsched serve` runs; bmsched links
// none of it, so that each worker's process starts fast.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/bmsched/bmsched/internal/cliapp"
)

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }

// run is the whole program, returning its exit code, so that tests can
// run it in-process.
func run(args []string, stdout, stderr io.Writer) int {
	if n := len(args); n > 1 && args[n-1] == "--generate-bash-completion" {
		return complete(newApp(stdout, stderr), args)
	}
	app := newAppFor(stdout, stderr, cliapp.CommandName(cliapp.GlobalFlags(), args))
	// The daemon's commands run bmschedd with the command line as given.
	app.Metadata = map[string]any{argvKey: args}
	err := app.Run(permute(app, args))
	if err == nil {
		return 0
	}
	// Errors name paths and entries, which may hold control characters.
	fmt.Fprintln(stderr, "bmsched:", escText(err.Error()))
	return exitCode(err)
}
