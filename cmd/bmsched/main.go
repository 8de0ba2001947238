// Command bmsched keeps the inventory of a build host's machine volumes and
// hands build workers writable snapshots of their images.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/errkind"
)

func main() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) }

// run is the whole program, returning its exit code, so that tests can
// run it in-process.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if n := len(args); n > 1 && args[n-1] == "--generate-bash-completion" {
		return complete(app, args)
	}
	err := app.Run(permute(app, args))
	if err == nil {
		return 0
	}
	// Errors name paths and entries, which may hold control characters.
	fmt.Fprintln(stderr, "bmsched:", escText(err.Error()))
	return exitCode(err)
}

// exitError carries an exit code of the CLI contract.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	var ee *exitError
	var ae *api.Error
	var ue *api.UnreachableError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ae):
		return ae.Exit
	case errors.As(err, &ue):
		return api.ExitUnreachable
	}
	// An error of the daemon's own packages, run in this process (db
	// rebuild, serve's start): its kind gives the code, as on the wire.
	return api.ExitCode(errkind.Of(err))
}
