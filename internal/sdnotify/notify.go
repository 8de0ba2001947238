// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): one
// datagram of NAME=VALUE lines to the Unix socket named by NOTIFY_SOCKET.
// It is the three lines of the protocol rather than a library, so that
// the client commands that share the binary link nothing more.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier sends state changes to the service manager. The zero value, and
// one made without NOTIFY_SOCKET, sends nothing: the daemon runs the same
// outside systemd.
type Notifier struct {
	socket string // the socket's address; "" when not under a manager
}

// FromEnv returns the notifier that NOTIFY_SOCKET names. An address
// starting with '@' is in the abstract namespace.
func FromEnv() *Notifier {
	return &Notifier{socket: os.Getenv("NOTIFY_SOCKET")}
}

// Enabled says whether a service manager listens.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Notify sends one message of NAME=VALUE lines, such as "READY=1".
func (n *Notifier) Notify(state string) error {
	if !n.Enabled() {
		return nil
	}
	// Go maps a leading '@' to the abstract namespace, as systemd means it.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify service manager at NOTIFY_SOCKET=%s: %w", n.socket, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify service manager at NOTIFY_SOCKET=%s: %w", n.socket, err)
	}
	return nil
}

// Ready says that start-up is done and clients are served.
func (n *Notifier) Ready(status string) error {
	return n.Notify("READY=1\nSTATUS=" + status + "\nMAINPID=" + strconv.Itoa(os.Getpid()))
}

// Stopping says that shutdown has begun.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1\nSTATUS=shutting down") }

// WatchdogInterval is how often to send WATCHDOG=1: half the manager's
// WatchdogSec (WATCHDOG_USEC), so that one late tick is not fatal. It is
// zero when no watchdog is set, or when it is meant for another process
// (WATCHDOG_PID).
func WatchdogInterval() time.Duration {
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}
