package api

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/bmsched/bmsched/internal/unixhttp"
)

// maxBusyRetry bounds the retries of a connect that the kernel refused
// with EAGAIN: the daemon's accept backlog was full for a moment.
const maxBusyRetry = 5 * time.Second

// dialError is a connect that failed: no daemon is there to take the
// request, which was not sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// dialBusy connects to the daemon's socket within timeout (0 for none),
// retrying briefly while the socket's backlog is full.
func dialBusy(ctx context.Context, socket string, timeout time.Duration) (unixhttp.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	giveUp := time.Now().Add(maxBusyRetry)
	pause := 5 * time.Millisecond
	for {
		c, err := unixhttp.Dial(socket)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(giveUp) {
			return nil, &dialError{err}
		}
		select {
		case <-ctx.Done():
			return nil, &dialError{err}
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}
