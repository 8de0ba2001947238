package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
	"github.com/bmsched/bmsched/internal/server"
)

// forEachDriver runs f on a real loop-mounted btrfs and on plain
// directories. The btrfs is mounted once for all the subtests of the
// calling test, each of which gets its own machines root in it: loop
// devices are few.
func forEachDriver(t *testing.T, f func(t *testing.T, base string)) {
	t.Run("btrfs", func(t *testing.T) {
		f(t, loopbtrfstest.TB(t))
	})
	t.Run("plain", func(t *testing.T) {
		f(t, t.TempDir())
	})
}

// daemon is an in-process `bmsched serve` on a real Unix socket.
type daemon struct {
	t      *testing.T
	root   string // machines root
	vol    string // its volume "default"
	drv    btrfs.Driver
	sock   string
	client *api.Client
	cancel context.CancelFunc
	done   chan error
}

// newRoot makes a machines root with an empty volume "default" under base.
func newRoot(t *testing.T, base string) (root, vol string) {
	t.Helper()
	root, err := os.MkdirTemp(base, "machines")
	if err != nil {
		t.Fatal(err)
	}
	vol = filepath.Join(root, "default")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, vol
}

// startDaemon serves root until the test ends (or stop). cfg's Machines,
// DB, Socket and Log are filled in unless set.
func startDaemon(t *testing.T, root string, cfg server.Config) *daemon {
	t.Helper()
	if cfg.Machines == "" {
		cfg.Machines = root
	}
	if cfg.DB == "" {
		cfg.DB = filepath.Join(t.TempDir(), "bmsched.db")
	}
	if cfg.Socket == "" {
		// Unix socket paths are limited to 108 bytes; t.TempDir can be longer.
		dir, err := os.MkdirTemp("", "bms")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		cfg.Socket = filepath.Join(dir, "s")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(&testLog{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	drv := driverOf(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, root: root, vol: filepath.Join(root, "default"), drv: drv, sock: cfg.Socket,
		client: api.NewClient(cfg.Socket), cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() { d.done <- server.Run(ctx, cfg, ready) }()
	select {
	case <-ready:
	case err := <-d.done:
		cancel()
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon did not start within 30s")
	}
	t.Cleanup(d.stop)
	return d
}

// stop shuts the daemon down and waits for it; it may be called again.
func (d *daemon) stop() {
	d.t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("daemon: %v", err)
		}
	case <-time.After(30 * time.Second):
		d.t.Error("daemon did not stop within 30s")
	}
}

// testLog sends the daemon's warnings to the test log while it runs.
type testLog struct {
	t  *testing.T
	mu sync.Mutex
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// addMachine lays out an active machine: revision 1 (read-only), the
// current link, and a read-only image per toolchain holding a file
// "image-<t>".
func addMachine(t *testing.T, drv btrfs.Driver, vol, name string, toolchains ...string) string {
	t.Helper()
	dir := filepath.Join(vol, name)
	rev := filepath.Join(dir, name+"-1")
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(os.Mkdir(dir, 0o755))
	check(drv.Create(rev))
	check(os.WriteFile(filepath.Join(rev, "rev"), []byte("1\n"), 0o644))
	check(drv.SetReadOnly(rev, true))
	check(os.Symlink(name+"-1", filepath.Join(dir, name)))
	for _, tc := range toolchains {
		img := filepath.Join(dir, name+"-"+tc)
		check(drv.Snapshot(context.Background(), rev, img, false))
		check(os.WriteFile(filepath.Join(img, "image-"+tc), []byte(tc+"\n"), 0o644))
		check(drv.SetReadOnly(img, true))
	}
	return dir
}

// driverOf is the storage driver of a machines root.
func driverOf(t *testing.T, root string) btrfs.Driver {
	t.Helper()
	drv, err := btrfs.ForPath(root, "")
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

// acquire asks for a lease through the socket.
func (d *daemon) acquire(ctx context.Context, req api.AcquireRequest) (api.Lease, error) {
	var l api.Lease
	err := d.client.Do(ctx, "POST", "/v1/acquire", req, &l)
	return l, err
}

func (d *daemon) release(ctx context.Context, id uint64, hold string) (string, error) {
	var m api.Message
	err := d.client.Do(ctx, "POST", fmt.Sprintf("/v1/leases/%d/release", id), api.ReleaseRequest{Hold: hold}, &m)
	return m.Message, err
}

func (d *daemon) leases(ctx context.Context, waiting bool) api.Leases {
	d.t.Helper()
	var out api.Leases
	path := "/v1/leases"
	if waiting {
		path += "?waiting=1"
	}
	if err := d.client.Do(ctx, "GET", path, nil, &out); err != nil {
		d.t.Fatal(err)
	}
	return out
}

// waitDeleted waits until no lease is releasing: a release answers once
// the snapshot is set aside, and the deleter deletes it a moment later.
func (d *daemon) waitDeleted(ctx context.Context) {
	d.t.Helper()
	eventually(d.t, 10*time.Second, "the snapshots of the ended leases deleted", func() bool {
		for _, l := range d.leases(ctx, false).Leases {
			if l.State == "releasing" {
				return false
			}
		}
		return true
	})
}

// exitOf is the CLI exit code an error maps to.
func exitOf(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Exit
	}
	if err == nil {
		return 0
	}
	return -1
}

// eventually polls cond every 5ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leftovers lists the entries of a machine directory that are lease
// snapshots (<m>-<t>-<x>) or bmsched temporaries, other than keep.
func leftovers(t *testing.T, dir, machine string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
next:
	for _, e := range ents {
		n := e.Name()
		for _, k := range keep {
			if n == k {
				continue next
			}
		}
		rest, ok := strings.CutPrefix(n, machine+"-")
		if strings.HasPrefix(n, ".bmsched-") || strings.HasPrefix(n, ".bmsched-copy-") || ok && strings.Count(rest, "-") == 1 {
			out = append(out, n)
		}
	}
	return out
}
