package cliapp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/errkind"
)

// ExitError carries an exit code of the CLI contract.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exitf is an error that exits with code.
func Exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// ExitCode is the exit status for err.
func ExitCode(err error) int {
	var ee *ExitError
	var ae *api.Error
	var ue *api.UnreachableError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ae):
		return ae.Exit
	case errors.As(err, &ue):
		return api.ExitUnreachable
	}
	// An error of the daemon's own packages, run in this process (db
	// rebuild, serve's start): its kind gives the code, as on the wire.
	return api.ExitCode(errkind.Of(err))
}

// UsageError turns a flag parser's complaint into exit 2 with a hint at
// the forms values take.
func UsageError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "parse error") && strings.Contains(msg, "time"),
		strings.Contains(msg, "-ttl") || strings.Contains(msg, "-wait") || strings.Contains(msg, "-hold") || strings.Contains(msg, "-timeout"):
		msg += " (durations are written like 90s, 10m or 2h)"
	case strings.Contains(msg, "parse error"):
		msg += " (a number was expected)"
	}
	return &ExitError{Code: api.ExitUsage, Err: errors.New(strings.Replace(msg, "flag -", "flag --", 1))}
}

// SetUsageErrors makes c's and its subcommands' flag errors usage errors.
func SetUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return UsageError(err)
	}
	for _, sub := range c.Subcommands {
		SetUsageErrors(sub)
	}
}

// Args checks the number of positional arguments.
func Args(c *cli.Context, min, max int) ([]string, error) {
	a := c.Args().Slice()
	if len(a) < min || (max >= 0 && len(a) > max) {
		usage := strings.TrimSpace("bmsched " + c.Command.Name + " " + c.Command.ArgsUsage)
		if len(a) > max && max >= 0 {
			return nil, Exitf(api.ExitUsage, "unexpected argument %q; usage: %s (see bmsched %s --help)", a[max], usage, c.Command.Name)
		}
		return nil, Exitf(api.ExitUsage, "missing argument; usage: %s (see bmsched %s --help)", usage, c.Command.Name)
	}
	return a, nil
}
