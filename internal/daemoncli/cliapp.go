package daemoncli

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/cliapp"
)

// The conventions bmschedd shares with bmsched, under the names the
// command files use.

func exitf(code int, format string, args ...any) error {
	return cliapp.Exitf(code, format, args...)
}

func args(c *cli.Context, min, max int) ([]string, error) { return cliapp.Args(c, min, max) }
func printJSON(w io.Writer, v any) error                  { return cliapp.PrintJSON(w, v) }

func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return cliapp.SignalContext(c)
}

func stopSignals(ctx context.Context) (context.Context, context.CancelFunc) {
	return cliapp.StopSignals(ctx)
}
