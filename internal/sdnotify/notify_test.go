package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"junk", "", 0},
		{"30000000", "", 15 * time.Second},
		{"30000000", strconv.Itoa(os.Getpid()), 15 * time.Second},
		// Meant for another process of the unit: not this one's to ping.
		{"30000000", "1", 0},
	} {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		if got := WatchdogInterval(); got != tc.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: interval %s, want %s", tc.usec, tc.pid, got, tc.want)
		}
	}
}

// TestNotifyAbstract sends to a socket in the abstract namespace, which
// systemd uses when NOTIFY_SOCKET begins with '@'.
func TestNotifyAbstract(t *testing.T) {
	name := "@bmsched-test-" + strconv.Itoa(os.Getpid())
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", name)
	if err := FromEnv().Stopping(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "STOPPING=1\nSTATUS=shutting down" {
		t.Errorf("got %q", got)
	}
}

// TestNotifyNone: without NOTIFY_SOCKET nothing is sent and nothing fails.
func TestNotifyNone(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if FromEnv().Enabled() {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	if err := FromEnv().Ready("x"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
	if err := FromEnv().Notify("READY=1"); err == nil {
		t.Fatal("no error for a NOTIFY_SOCKET that does not exist")
	}
}
