package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// An acquire whose client goes away while its snapshot is made ends the
// lease, and the event log says so: not "released by uid 0", a release
// nobody asked for.
func TestAcquireOfVanishedClient(t *testing.T) {
	root := slowImage(t)
	d := startDaemon(t, root, server.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"}); err == nil {
		t.Skip("the snapshot was made before the client gave up: nothing to abandon")
	}
	var ended api.Event
	eventually(t, 30*time.Second, "the abandoned lease ends", func() bool {
		var es api.Events
		if err := d.client.Do(context.Background(), "GET", "/v1/events?n=1000", nil, &es); err != nil {
			t.Fatal(err)
		}
		for _, e := range es.Events {
			if e.Lease == 1 && strings.Contains(e.Message, "ended") {
				ended = e
				return true
			}
		}
		return false
	})
	want := fmt.Sprintf("the client (uid %d, pid %d) went away before it was told the path", os.Getuid(), os.Getpid())
	if ended.Kind != "lease-abandoned" || !strings.Contains(ended.Message, want) {
		t.Fatalf("end of the abandoned lease logged as %s %q, want lease-abandoned and %q", ended.Kind, ended.Message, want)
	}
	d.waitDeleted(context.Background())
	if n := len(d.leases(context.Background(), false).Leases); n != 0 {
		t.Fatalf("%d leases after the client went away, want 0", n)
	}
}

// slowImage lays out machine lin with a plain-directory image lin-gcc of
// many files, which takes a while to copy, and returns the machines root.
func slowImage(t *testing.T) string {
	t.Helper()
	root, vol := newRoot(t, t.TempDir())
	drv := driverOf(t, root)
	dir := addMachine(t, drv, vol, "lin")
	rev := filepath.Join(dir, "lin-1")
	img := filepath.Join(dir, "lin-gcc")
	if err := drv.Snapshot(context.Background(), rev, img, false); err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		if err := os.WriteFile(filepath.Join(img, fmt.Sprint(i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := drv.SetReadOnly(img, true); err != nil {
		t.Fatal(err)
	}
	return root
}

// A client's bound on the first byte of the answer does not cut an
// acquire that is merely slow: the daemon says at once that it is at work
// (102 Processing).
func TestSlowAcquireNotCut(t *testing.T) {
	root := slowImage(t)
	d := startDaemon(t, root, server.Config{})
	start := time.Now()
	var l api.Lease
	err := api.NewClientTimeout(d.sock, 20*time.Millisecond).Do(context.Background(), "POST", "/v1/acquire",
		api.AcquireRequest{Machine: "lin", Toolchain: "gcc"}, &l)
	if err != nil {
		t.Fatalf("acquire of a slow copy with a 20ms first-byte bound: %v", err)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Log("the copy was faster than the bound: nothing was proved")
	}
	if _, err := os.Stat(filepath.Join(l.Path, "4999")); err != nil {
		t.Fatal(err)
	}
}
