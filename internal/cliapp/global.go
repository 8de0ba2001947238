package cliapp

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

// DefaultTimeout is the global --timeout: a daemon that is up answers in
// milliseconds.
const DefaultTimeout = 30 * time.Second

// GlobalFlags are the flags every command takes, before or after it.
func GlobalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "socket", Value: api.DefaultSocket, EnvVars: []string{"BMSCHED_SOCKET"}, Usage: "the daemon's Unix socket"},
		&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"},
		&cli.DurationFlag{Name: "timeout", Value: DefaultTimeout, Usage: "give up (exit 6) when the daemon does not accept the connection, or begin its answer, within DUR; never cuts a stream, a receive, a bootstrap's command or a wait asked for (acquire --wait, delete --timeout); 0 for no bound"},
	}
}

// PrintJSON prints v indented, as every --json output is.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// SignalContext is cancelled by SIGINT or SIGTERM.
func SignalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
}

// StopSignals is cancelled by SIGINT, SIGTERM or SIGPIPE. Asking for
// SIGPIPE also turns a write to a closed pipe on stdout, which would kill
// the process before any deferred cleanup ran, into an EPIPE error.
func StopSignals(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
}
