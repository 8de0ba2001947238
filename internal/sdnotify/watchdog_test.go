package sdnotify

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchdogOnlyWhileAlive: no WATCHDOG=1 while the daemon is not
// healthy, so that the manager restarts a stuck daemon; pings as soon as
// it is again.
func TestWatchdogOnlyWhileAlive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", path)

	var healthy atomic.Bool
	alive := func() error {
		if healthy.Load() {
			return nil
		}
		return errors.New("stuck")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		FromEnv().Watchdog(ctx, 10*time.Millisecond, alive, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()

	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("pinged %q while not healthy", buf[:n])
	}
	healthy.Store(true)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "WATCHDOG=1" {
		t.Fatalf("no WATCHDOG=1 once healthy: %q %v", buf[:n], err)
	}
}
