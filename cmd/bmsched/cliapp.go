package main

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/cliapp"
)

// The conventions bmsched shares with bmschedd, under the short names
// every command file uses.

type exitError = cliapp.ExitError

func exitf(code int, format string, args ...any) error {
	return cliapp.Exitf(code, format, args...)
}

func exitCode(err error) int                              { return cliapp.ExitCode(err) }
func usageError(err error) error                          { return cliapp.UsageError(err) }
func setUsageErrors(c *cli.Command)                       { cliapp.SetUsageErrors(c) }
func args(c *cli.Context, min, max int) ([]string, error) { return cliapp.Args(c, min, max) }
func printJSON(w io.Writer, v any) error                  { return cliapp.PrintJSON(w, v) }
func permute(app *cli.App, argv []string) []string        { return cliapp.Permute(app, argv) }
func esc(s string) string                                 { return cliapp.Esc(s) }
func escText(s string) string                             { return cliapp.EscText(s) }
func shellJoin(a []string) string                         { return cliapp.ShellJoin(a) }

func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return cliapp.SignalContext(c)
}

// DefaultTimeout is the global --timeout.
const DefaultTimeout time.Duration = cliapp.DefaultTimeout
