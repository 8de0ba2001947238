package api

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// maxBusyRetry bounds the retries of a connect that the kernel refused
// with EAGAIN: the daemon's accept backlog was full for a moment.
const maxBusyRetry = 5 * time.Second

// dialBusy connects to the daemon's socket within timeout (0 for none),
// retrying briefly while the socket's backlog is full.
func dialBusy(ctx context.Context, socket string, timeout time.Duration) (net.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	giveUp := time.Now().Add(maxBusyRetry)
	pause := 5 * time.Millisecond
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", socket)
		if err == nil || !errors.Is(err, syscall.EAGAIN) || time.Now().After(giveUp) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}
