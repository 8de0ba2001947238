package sdnotify

import (
	"context"
	"log/slog"
	"time"
)

// Watchdog sends WATCHDOG=1 every interval until ctx is done, while alive
// reports the daemon healthy; a daemon that is stuck stops the pings and
// the manager restarts it. It returns at once when interval is zero.
func (n *Notifier) Watchdog(ctx context.Context, interval time.Duration, alive func() error, log *slog.Logger) {
	if !n.Enabled() || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := alive(); err != nil {
			log.Warn("watchdog: daemon not healthy, not pinging the service manager", "err", err)
		} else if err := n.Notify("WATCHDOG=1"); err != nil {
			log.Warn("watchdog", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
