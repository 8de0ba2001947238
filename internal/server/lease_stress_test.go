package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// 32 clients each acquire and release 50 times over four machines, through
// the daemon's socket, with a per-machine limit that makes them queue.
// Every path is handed out once; every snapshot is there, holds the
// image's files and takes a write while leased; no machine ever has more
// leases than its limit; nothing is left afterwards.
func TestLeaseStress(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		const (
			clients  = 32
			cycles   = 50
			machines = 4
			perMach  = 6 // 24 slots for 32 clients: the queue is used
		)
		root, vol := newRoot(t, base)
		var names []string
		for i := range machines {
			names = append(names, fmt.Sprintf("m%d", i))
			addMachine(t, driverOf(t, root), vol, names[i], "gcc")
		}
		d := startDaemon(t, root, server.Config{MaxPerMachine: perMach})

		var (
			mu      sync.Mutex
			paths   = map[string]int{} // path -> client that got it
			ids     = map[uint64]bool{}
			holding [machines]atomic.Int32
			peak    [machines]atomic.Int32
		)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		errc := make(chan error, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- func() error {
					for i := range cycles {
						m := (c + i) % machines
						l, err := d.acquire(ctx, api.AcquireRequest{Machine: names[m], Toolchain: "gcc",
							Wait: "60s", Label: fmt.Sprintf("client%d/%d", c, i)})
						if err != nil {
							return fmt.Errorf("client %d cycle %d: acquire: %w", c, i, err)
						}
						if n := holding[m].Add(1); n > perMach {
							return fmt.Errorf("machine %s has %d leases, limit %d", names[m], n, perMach)
						} else {
							for p := peak[m].Load(); n > p && !peak[m].CompareAndSwap(p, n); p = peak[m].Load() {
							}
						}
						mu.Lock()
						prev, dup := paths[l.Path]
						paths[l.Path] = c
						dupID := ids[l.ID]
						ids[l.ID] = true
						mu.Unlock()
						if dup || dupID {
							return fmt.Errorf("lease %d path %s handed out twice (before to client %d)", l.ID, l.Path, prev)
						}
						if want := filepath.Join(vol, names[m], fmt.Sprintf("%s-gcc-%03d", names[m], l.ID)); l.Path != want {
							return fmt.Errorf("lease %d path %s, want %s", l.ID, l.Path, want)
						}
						if b, err := os.ReadFile(filepath.Join(l.Path, "image-gcc")); err != nil || string(b) != "gcc\n" {
							return fmt.Errorf("snapshot %s does not hold the image: %q, %v", l.Path, b, err)
						}
						if err := os.WriteFile(filepath.Join(l.Path, "build.log"), []byte(l.Owner.Label), 0o644); err != nil {
							return fmt.Errorf("snapshot %s not writable: %w", l.Path, err)
						}
						holding[m].Add(-1)
						if _, err := d.release(ctx, l.ID, ""); err != nil {
							return fmt.Errorf("client %d: release %d: %w", c, l.ID, err)
						}
						if _, err := os.Lstat(l.Path); !os.IsNotExist(err) {
							return fmt.Errorf("snapshot %s still there after its release: %v", l.Path, err)
						}
					}
					return nil
				}()
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Error(err)
			}
		}
		elapsed := time.Since(start)
		t.Logf("%d acquire+release cycles by %d clients in %v (%.0f cycles/s)", clients*cycles, clients, elapsed.Round(time.Millisecond),
			float64(clients*cycles)/elapsed.Seconds())
		if t.Failed() {
			return
		}
		if len(paths) != clients*cycles {
			t.Errorf("%d distinct paths for %d cycles", len(paths), clients*cycles)
		}
		for m := range machines {
			if p := peak[m].Load(); p > perMach {
				t.Errorf("machine %s peaked at %d leases, limit %d", names[m], p, perMach)
			}
		}
		d.waitDeleted(ctx)
		if ls := d.leases(ctx, true); len(ls.Leases) != 0 || len(ls.Waiting) != 0 {
			t.Errorf("after every release: %d leases, %d waiting; want none", len(ls.Leases), len(ls.Waiting))
		}
		// The inventory learns of the snapshots' deletion from its
		// watcher, a moment later.
		var list api.List
		stale := func() string {
			list = api.List{}
			if err := d.client.Do(ctx, "GET", "/v1/machines", nil, &list); err != nil {
				t.Fatal(err)
			}
			for _, m := range list.Machines {
				if m.Leases != 0 || len(m.Snapshots) != 0 {
					return fmt.Sprintf("machine %s: %d leases, snapshots %v; want none", m.Name, m.Leases, m.Snapshots)
				}
			}
			return ""
		}
		waited := time.Now()
		eventually(t, 5*time.Second, "the inventory still lists snapshots", func() bool { return stale() == "" })
		t.Logf("inventory caught up %v after the last release", time.Since(waited).Round(time.Millisecond))
		for _, n := range names {
			if left := leftovers(t, filepath.Join(vol, n), n); len(left) != 0 {
				t.Errorf("left in %s: %v", n, left)
			}
		}
	})
}
