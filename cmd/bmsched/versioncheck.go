package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/version"
)

// noVersionCheck are the commands that never ask the daemon for its
// version: a worker's scripted lease commands must cost one request and
// print nothing else, and the rest do not talk to a daemon.
var noVersionCheck = map[string]bool{
	"acquire": true, "release": true, "renew": true, "run": true,
	"serve": true, "version": true, "completion": true, "man": true,
	"db": true, "demo": true, "help": true, "h": true, "": true,
}

// versionCheck asks the daemon for its version beside the command, so
// that it adds no wait, and warns on stderr when it differs from the
// client's: only for a person at a terminal, never for a script.
type versionCheck struct {
	done chan string // the warning, or ""
}

// startVersionCheck begins the check when the command and stderr call
// for it.
func startVersionCheck(c *cli.Context) *versionCheck {
	name := c.Args().First()
	if noVersionCheck[name] || !isTerminal(c.App.ErrWriter) {
		return nil
	}
	vc := &versionCheck{done: make(chan string, 1)}
	socket := c.String("socket")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h, err := api.NewClientTimeout(socket, time.Second).Health(ctx)
		if err != nil {
			// The command itself says what is wrong with the daemon.
			vc.done <- ""
			return
		}
		vc.done <- mismatch(version.Get(), h, socket)
	}()
	return vc
}

// finish prints the warning, waiting a moment for an answer that the
// command's own request has usually long overtaken.
func (vc *versionCheck) finish(w io.Writer) {
	if vc == nil {
		return
	}
	select {
	case msg := <-vc.done:
		if msg != "" {
			fmt.Fprintln(w, msg)
		}
	case <-time.After(500 * time.Millisecond):
	}
}

// mismatch is the warning for a daemon of another build, or "".
func mismatch(client version.Info, d api.Health, socket string) string {
	if d.Version == client.Version && d.Commit == client.Commit {
		return ""
	}
	return fmt.Sprintf("bmsched: warning: this client is %s (commit %s) but the daemon on %s is %s (commit %s); restart the daemon after an upgrade (systemctl restart bmsched)",
		client.Version, client.Commit, socket, d.Version, d.Commit)
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
