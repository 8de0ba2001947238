package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// A connection that sends nothing, a request body that stalls and an
// idle connection are closed after their bounds; an answer that takes
// longer than the read bound (a wait asked for) is not cut.
func TestClientDeadlines(t *testing.T) {
	root, vol := newRoot(t, t.TempDir())
	addMachine(t, driverOf(t, root), vol, "lin", "gcc")
	d := startDaemon(t, root, server.Config{MaxLeases: 1,
		ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})

	closedWithin := func(what string, c net.Conn, max time.Duration) {
		t.Helper()
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if d := time.Since(start); err != nil || d > max {
			t.Errorf("%s: closed after %s (%v), want within %s", what, d, err, max)
		}
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("unix", d.sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	silent := dial()
	stalled := dial()
	if _, err := io.WriteString(stalled, "POST /v1/acquire HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	idle := dial()
	if _, err := io.WriteString(idle, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	closedWithin("a connection that sends nothing", silent, 2*time.Second)
	closedWithin("a stalled request body", stalled, 2*time.Second)
	closedWithin("an idle connection", idle, 2*time.Second)

	// The host is full: an acquire waits its second, well past the read
	// bound, and is answered "no capacity", not cut.
	ctx := context.Background()
	if _, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"}); err != nil {
		t.Fatal(err)
	}
	_, err = d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc", Wait: "1s"})
	if exitOf(err) != api.ExitNoCapacity || !strings.Contains(err.Error(), "waited 1s") {
		t.Fatalf("acquire --wait 1s at capacity: %v, want exit 4 after waiting 1s", err)
	}
}
