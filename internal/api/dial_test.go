package api

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A connect refused with EAGAIN, because the daemon's accept backlog is
// full for a moment, is retried until the daemon catches up.
func TestDialBusyRetries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the backlog until the kernel answers EAGAIN.
	var fill []int
	defer func() {
		for _, fd := range fill {
			unix.Close(fd)
		}
	}()
	for {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fill = append(fill, fd)
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(fill) > 100 {
			t.Fatal("backlog never filled")
		}
	}
	// While nobody accepts, the retries end with the timeout.
	start := time.Now()
	if _, err := dialBusy(context.Background(), path, 300*time.Millisecond); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("connect on a full backlog: %v, want EAGAIN", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("gave up after %s, want about the 300ms timeout", d)
	}
	// The daemon catches up after a moment.
	go func() {
		time.Sleep(300 * time.Millisecond)
		// The connected fillers and the dial under test.
		for range len(fill) {
			fd, _, err := unix.Accept(ln)
			if err != nil {
				return
			}
			unix.Close(fd)
		}
	}()
	start = time.Now()
	c, err := dialBusy(context.Background(), path, 5*time.Second)
	if err != nil {
		t.Fatalf("connect while the backlog drains: %v", err)
	}
	c.Close()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("connected after %s, before the backlog drained", d)
	}
}
