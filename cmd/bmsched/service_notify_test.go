package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServiceNotify runs the daemon under a real NOTIFY_SOCKET datagram
// socket with a watchdog, as systemd does for Type=notify and WatchdogSec=:
// READY=1 comes once the socket serves, WATCHDOG=1 at half of
// WATCHDOG_USEC, and STOPPING=1 at SIGTERM, before the process exits.
func TestServiceNotify(t *testing.T) {
	dir := t.TempDir()
	notify := listenNotify(t, filepath.Join(dir, "notify"))
	root := filepath.Join(dir, "machines")
	if err := os.MkdirAll(filepath.Join(root, "default"), 0o755); err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "bms")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "s")

	const watchdog = 200 * time.Millisecond
	cmd := exec.Command(publicBinary(t), "serve", "--driver", "plain")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.LocalAddr().String(),
		"WATCHDOG_USEC=200000", "BMSCHED_MACHINES="+root, "BMSCHED_DB="+filepath.Join(dir, "db"),
		"BMSCHED_SOCKET="+sock, "BMSCHED_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	msgs := readNotify(t, notify)
	ready := waitFor(t, msgs, "READY=1", 20*time.Second)
	if !strings.Contains(ready, "MAINPID="+itoa(cmd.Process.Pid)) {
		t.Errorf("READY message %q does not name the daemon's pid %d", ready, cmd.Process.Pid)
	}
	// Ready means served: a client is answered at once.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("READY=1 came before the socket served: %v", err)
	}
	c.Close()

	// Pings at half the watchdog's period: at least 4 in 5 periods, and
	// none closer together than a quarter of it.
	start, last, pings := time.Now(), time.Time{}, 0
	for time.Since(start) < 5*watchdog {
		waitFor(t, msgs, "WATCHDOG=1", 2*watchdog)
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < watchdog/4 {
			t.Errorf("watchdog pings %s apart; want about %s", now.Sub(last), watchdog/2)
		}
		last = now
		pings++
	}
	if pings < 4 {
		t.Errorf("%d watchdog pings in %s; want at least 4", pings, 5*watchdog)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, msgs, "STOPPING=1", 10*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exited with %v after SIGTERM; want 0", err)
	}
}

func listenNotify(t *testing.T, path string) *net.UnixConn {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readNotify delivers each datagram the daemon sends.
func readNotify(t *testing.T, c *net.UnixConn) <-chan string {
	ch := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// waitFor returns the first message holding the line want, skipping
// others (watchdog pings come at any time).
func waitFor(t *testing.T, msgs <-chan string, want string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %s", want)
			}
			for _, line := range strings.Split(m, "\n") {
				if line == want {
					return m
				}
			}
		case <-deadline:
			t.Fatalf("no %s on NOTIFY_SOCKET within %s", want, within)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
