package daemoncli

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/sdnotify"
)

// socketName is the FileDescriptorName= of contrib/systemd/bmsched.socket:
// the descriptor serve takes when the manager passes several.
const socketName = "bmsched"

// startNotify runs notifyManager for a daemon about to start: close
// ready once it serves, and call finish when it has stopped; finish
// returns once STOPPING=1 is sent, before the process exits.
func startNotify(ctx context.Context, socket string, log *slog.Logger) (ready chan struct{}, finish func()) {
	ready = make(chan struct{})
	done, notified := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(notified)
		notifyManager(ctx, socket, ready, done, log)
	}()
	return ready, func() { close(done); <-notified }
}

// notifyManager tells a service manager (NOTIFY_SOCKET) that the daemon is
// ready once ready is closed (recovery done, clients served), pings its
// watchdog while the daemon answers on socket, and says STOPPING once ctx
// is done. It returns when done is closed. Outside systemd it does
// nothing.
func notifyManager(ctx context.Context, socket string, ready, done <-chan struct{}, log *slog.Logger) {
	n := sdnotify.FromEnv()
	if !n.Enabled() {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interval := sdnotify.WatchdogInterval()
	go n.Watchdog(wctx, interval, func() error { return probe(wctx, socket, ready, interval) }, log)
	select {
	case <-ready:
		if err := n.Ready("serving on " + socket); err != nil {
			log.Warn("service manager", "err", err)
		}
	case <-done:
	case <-ctx.Done():
	}
	select {
	case <-ctx.Done():
	case <-done:
	}
	if ctx.Err() != nil {
		if err := n.Stopping(); err != nil {
			log.Warn("service manager", "err", err)
		}
	}
}

// probe says whether the daemon is healthy: during recovery, which may be
// long but is not stuck (TimeoutStartSec= bounds it), it is; once ready,
// only when it answers a health request on its own socket within the
// watchdog's interval.
func probe(ctx context.Context, socket string, ready <-chan struct{}, within time.Duration) error {
	select {
	case <-ready:
	default:
		return nil
	}
	_, err := api.NewClientTimeout(socket, within).Health(ctx)
	return err
}

// socketPath is where clients reach the daemon: the passed socket's
// address, else --socket.
func socketPath(ln net.Listener, flag string) string {
	if ln != nil {
		return ln.Addr().String()
	}
	return flag
}
