package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

// defaultDaemonWait bounds how long a bootstrap whose command has ended
// waits for a daemon that stopped meanwhile, when --timeout says nothing:
// a restarted daemon keeps the bootstrap of a client that still runs, for
// the client to finish.
const defaultDaemonWait = 30 * time.Second

// finishBootstrap reports the command's outcome to the daemon, waiting up
// to daemonWait (the global --timeout) for it to come back when it is not
// answering.
func finishBootstrap(ctx context.Context, cl *api.Client, path string, daemonWait time.Duration, stderr io.Writer) (api.OpResult, error) {
	if daemonWait <= 0 {
		daemonWait = defaultDaemonWait
	}
	var m api.OpResult
	deadline := time.Now().Add(daemonWait)
	said := false
	for {
		err := cl.Do(ctx, "POST", path, nil, &m)
		if err == nil || !daemonAway(err) || time.Now().After(deadline) {
			if err != nil && daemonAway(err) {
				err = fmt.Errorf("%w; no daemon came back within %s to finish the bootstrap: it is undone when the daemon starts", err, daemonWait)
			}
			return m, err
		}
		if !said {
			fmt.Fprintf(stderr, "the daemon stopped during the bootstrap; waiting up to %s for it to come back to finish it\n", daemonWait)
			said = true
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// daemonAway tells a daemon that is not there from one that answered. A
// daemon that took the finish and stopped before answering is not waited
// for: the finish may have been carried out, and its recovery, with the
// client gone, finishes or undoes it.
func daemonAway(err error) bool {
	var ue *api.UnreachableError
	return errors.As(err, &ue)
}
