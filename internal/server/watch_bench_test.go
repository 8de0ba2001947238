package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
	"github.com/bmsched/bmsched/internal/server"
)

// BenchmarkLinkSwitchLatency measures the manual's atomic switch as an
// operator sees it: from `mv -T new-<m> <m>` to `bmsched list` showing
// the new current revision. ns/op is the mean; p50, p95 and max are
// reported too. The churn cases switch while 16 workers acquire and
// release snapshots of the same machine as fast as they can, the case of
// a busy build host. Run it with
//
//	go test -run '^$' -bench LinkSwitchLatency -benchtime 100x ./internal/server/
func BenchmarkLinkSwitchLatency(b *testing.B) {
	b.Run("btrfs", func(b *testing.B) { benchLinkSwitch(b, loopbtrfstest.TB(b), 0) })
	b.Run("plain", func(b *testing.B) { benchLinkSwitch(b, b.TempDir(), 0) })
	b.Run("btrfs-churn16", func(b *testing.B) { benchLinkSwitch(b, bigBtrfs(b), 16) })
	b.Run("plain-churn16", func(b *testing.B) { benchLinkSwitch(b, b.TempDir(), 16) })
}

func benchLinkSwitch(b *testing.B, base string, workers int) {
	root := filepath.Join(base, "machines")
	dir := filepath.Join(root, "default", "lin")
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.MkdirAll(dir, 0o755))
	drv, err := btrfs.ForPath(root, "")
	must(err)
	for _, rev := range []string{"lin-1", "lin-2"} {
		must(drv.Create(filepath.Join(dir, rev)))
		must(drv.SetReadOnly(filepath.Join(dir, rev), true))
	}
	must(drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, "lin-gcc"), true))
	must(os.Symlink("lin-1", filepath.Join(dir, "lin")))
	client := benchDaemon(b, root)
	ctx := context.Background()
	stopChurn := churn(b, client, workers)
	defer stopChurn()

	// machine polls the list, as `bmsched list --json` would, every
	// millisecond: finer than that measures the polling.
	machine := func() api.Machine {
		var l api.List
		must(client.Do(ctx, "GET", "/v1/machines", nil, &l))
		if len(l.Machines) != 1 {
			b.Fatalf("list: %d machines, want 1", len(l.Machines))
		}
		return l.Machines[0]
	}
	waitFor := func(what string, cond func(api.Machine) bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond(machine()) {
			if time.Now().After(deadline) {
				b.Fatalf("not within 5s: %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("revision 1 current", func(m api.Machine) bool { return m.Current != nil && *m.Current == 1 })

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		rev := uint64(2 - i%2)
		b.StopTimer()
		must(os.Symlink(fmt.Sprintf("lin-%d", rev), filepath.Join(dir, "new-lin")))
		// The new link's own rescan is done first, so that it does not
		// coalesce with, and hide the cost of, the switch's.
		waitFor("the new link listed", func(m api.Machine) bool { return slices.Contains(m.Transients, "new-lin") })
		b.StartTimer()
		start := time.Now()
		must(os.Rename(filepath.Join(dir, "new-lin"), filepath.Join(dir, "lin")))
		waitFor(fmt.Sprintf("revision %d current", rev), func(m api.Machine) bool { return m.Current != nil && *m.Current == rev })
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	if n := stopChurn(); workers > 0 {
		b.ReportMetric(float64(n)/float64(b.N), "cycles/op")
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*95/100]), "p95-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// churn runs workers goroutines that acquire and release snapshots of
// lin (stale or not: the switches make its image stale every other time)
// until stop, which returns how many cycles they completed. An acquire
// refused because a scan saw lin without its link (a directory read
// racing the rename can miss both names) is counted, not fatal: stop
// reports it as refused/op.
func churn(b *testing.B, client *api.Client, workers int) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var cycles, refused atomic.Int64
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				var l api.Lease
				req := api.AcquireRequest{Machine: "lin", Toolchain: "gcc", AllowStale: true}
				err := client.Do(ctx, "POST", "/v1/acquire", req, &l)
				var e *api.Error
				if errors.As(err, &e) && e.Exit == api.ExitRefused {
					refused.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					if ctx.Err() == nil {
						b.Errorf("churn: acquire: %v", err)
					}
					return
				}
				// Released whatever ctx says, so that no lease outlives the
				// benchmark.
				var m api.Message
				if err := client.Do(context.Background(), "POST", fmt.Sprintf("/v1/leases/%d/release", l.ID), api.ReleaseRequest{}, &m); err != nil {
					b.Errorf("churn: release %d: %v", l.ID, err)
					return
				}
				cycles.Add(1)
			}
		})
	}
	var once sync.Once
	return func() int {
		once.Do(func() {
			cancel()
			wg.Wait()
			if workers > 0 {
				b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
			}
		})
		return int(cycles.Load())
	}
}

// benchDaemon serves root in-process until the benchmark ends.
func benchDaemon(b *testing.B, root string) *api.Client {
	sockDir, err := os.MkdirTemp("", "bms")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(sockDir) })
	cfg := server.Config{
		Machines: root,
		DB:       filepath.Join(b.TempDir(), "bmsched.db"),
		Socket:   filepath.Join(sockDir, "s"),
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	stop := runDaemon(b, cfg)
	b.Cleanup(func() {
		if err := stop(); err != nil {
			b.Errorf("daemon: %v", err)
		}
	})
	return api.NewClient(cfg.Socket)
}
