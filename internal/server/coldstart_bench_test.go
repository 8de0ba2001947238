package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs"
	"github.com/bmsched/bmsched/internal/server"
)

// coldMachines is the farm of issue 11's cold-start target: 1,000
// machines of 2 revisions and 3 images each.
const coldMachines = 1000

// BenchmarkColdStart measures a daemon's start, from Run to the socket
// open, on a root of coldMachines machines: with a new database (every
// machine stored) and with the database of the start before (nothing to
// store). Run it with
//
//	go test -run '^$' -bench ColdStart -benchtime 3x ./internal/server/
func BenchmarkColdStart(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchColdStart(b, b.TempDir()) })
	// Five thousand subvolumes need more metadata room than the tests'
	// usual image.
	b.Run("btrfs", func(b *testing.B) { benchColdStart(b, bigBtrfs(b)) })
}

// bigBtrfs mounts a sparse 2 GiB btrfs for the benchmark: room for a farm
// of subvolumes, or for the space that deleted snapshots hold until
// btrfs's cleaner frees it in the background.
func bigBtrfs(b *testing.B) string {
	if err := loopbtrfs.Available(); err != nil {
		b.Skip(err)
	}
	mnt, cleanup, err := loopbtrfs.Mount(b.TempDir(), 2<<30)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := cleanup(); err != nil {
			b.Error(err)
		}
	})
	return mnt
}

func benchColdStart(b *testing.B, base string) {
	root := filepath.Join(base, "machines")
	layoutFarm(b, root, coldMachines)
	sockDir, err := os.MkdirTemp("", "bms")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(sockDir) })
	cfg := server.Config{
		Machines: root,
		Socket:   filepath.Join(sockDir, "s"),
		Driver:   "auto",
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	b.Run("new-db", func(b *testing.B) {
		for i := range b.N {
			cfg.DB = filepath.Join(b.TempDir(), fmt.Sprintf("bmsched-%d.db", i))
			startAndStop(b, cfg)
		}
	})
	b.Run("same-db", func(b *testing.B) {
		cfg.DB = filepath.Join(b.TempDir(), "bmsched.db")
		b.StopTimer()
		startAndStop(b, cfg) // the database the timed starts find
		b.StartTimer()
		for range b.N {
			startAndStop(b, cfg)
		}
	})
}

// startAndStop times one start of the daemon, up to its socket opening;
// the stop is not timed.
func startAndStop(b *testing.B, cfg server.Config) {
	b.Helper()
	stop := runDaemon(b, cfg)
	b.StopTimer()
	if err := stop(); err != nil {
		b.Fatalf("daemon: %v", err)
	}
	b.StartTimer()
}

// runDaemon starts the daemon in-process on cfg and waits, up to 5
// minutes, for its socket to open; stop ends it and returns what Run
// returned.
func runDaemon(b *testing.B, cfg server.Config) (stop func() error) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- server.Run(ctx, cfg, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		b.Fatalf("daemon did not start: %v", err)
	case <-time.After(5 * time.Minute):
		cancel()
		b.Fatal("daemon did not start within 5 minutes")
	}
	return func() error {
		cancel()
		return <-done
	}
}

// layoutFarm lays out n active machines over two volumes, each with two
// read-only revisions, the current link on the second, and three
// read-only images bootstrapped from it.
func layoutFarm(b *testing.B, root string, n int) {
	b.Helper()
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.MkdirAll(root, 0o755))
	drv, err := btrfs.ForPath(root, "")
	must(err)
	for i := range n {
		vol := []string{"default", "fast"}[i%2]
		name := fmt.Sprintf("linux-gcc_%04d", i)
		dir := filepath.Join(root, vol, name)
		must(os.MkdirAll(dir, 0o755))
		for rev := 1; rev <= 2; rev++ {
			p := filepath.Join(dir, fmt.Sprintf("%s-%d", name, rev))
			must(drv.Create(p))
			must(drv.SetReadOnly(p, true))
		}
		must(os.Symlink(name+"-2", filepath.Join(dir, name)))
		for _, tc := range []string{"stage", "test", "release"} {
			must(drv.Snapshot(context.Background(), filepath.Join(dir, name+"-2"), filepath.Join(dir, name+"-"+tc), true))
		}
	}
}
