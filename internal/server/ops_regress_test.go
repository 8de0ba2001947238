package server_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// daemonWith serves a fresh root holding one active machine, and returns
// the daemon and the machine's directory once the daemon has scanned it.
func daemonWith(t *testing.T, base, machine string, toolchains ...string) (*daemon, string) {
	t.Helper()
	root, vol := newRoot(t, base)
	d := startDaemon(t, root, server.Config{})
	dir := addMachine(t, d.drv, vol, machine, toolchains...)
	if _, err := d.client.Op(context.Background(), "/v1/ops/gc", nil, nil); err != nil {
		t.Fatal(err)
	}
	return d, dir
}

// gc --boot must not sweep a machine whose link is there but wrong: a
// typo is an operator's mistake to report, not a machine to destroy.
func TestGCBootKeepsMachineWithWrongLink(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		d, dir := daemonWith(t, base, "lin", "gcc")
		if err := os.Remove(filepath.Join(dir, "lin")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("lin-3", filepath.Join(dir, "lin")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.client.Op(context.Background(), "/v1/ops/gc?boot=1", nil, nil); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"lin-1", "lin-gcc"} {
			if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
				t.Errorf("gc --boot removed %s of a machine with a mistyped link: %v", n, err)
			}
		}
	})
}

// upgrade --prune deletes only revisions older than the new current one.
func TestPruneKeepsNewerRevisions(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		d, dir := daemonWith(t, base, "lin")
		for _, r := range []string{"lin-2", "lin-3"} {
			if err := d.drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, r), true); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		if _, err := d.client.Op(ctx, "/v1/ops/upgrade?"+url.Values{"machine": {"lin"}, "rev": {"2"}, "prune": {"1"}}.Encode(), nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "lin-3")); err != nil {
			t.Errorf("upgrade --rev 2 --prune removed the newer lin-3: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "lin-1")); err == nil {
			t.Errorf("upgrade --rev 2 --prune kept lin-1, which nothing depends on")
		}
	})
}

// A delete waits for a running bootstrap, and never removes its snapshot.
func TestDeleteWaitsForBootstrap(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		d, _ := daemonWith(t, base, "lin", "gcc")
		ctx := context.Background()
		var b api.Bootstrap
		if err := d.client.Do(ctx, "POST", "/v1/ops/bootstrap?"+url.Values{"machine": {"lin"}, "toolchain": {"gcc"}}.Encode(), nil, &b); err != nil {
			t.Fatal(err)
		}
		_, err := d.client.Op(ctx, "/v1/ops/delete?"+url.Values{"machine": {"lin"}, "timeout": {"300ms"}}.Encode(), nil, nil)
		if exitOf(err) != api.ExitNoCapacity || !strings.Contains(err.Error(), "bootstrap of gcc") {
			t.Fatalf("delete during a bootstrap: %v, want exit 4 naming the bootstrap", err)
		}
		if _, err := os.Lstat(b.Subvol); err != nil {
			t.Fatalf("delete removed the running bootstrap's snapshot: %v", err)
		}
	})
}

// gc --boot run while builds acquire never deletes a leased snapshot: it
// holds acquires off while it decides which snapshots no lease holds.
func TestGCBootSparesLeasesBeingMade(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		d, _ := daemonWith(t, base, "lin", "gcc")
		ctx := context.Background()
		stop := make(chan struct{})
		gcDone := make(chan struct{})
		go func() {
			defer close(gcDone)
			for {
				select {
				case <-stop:
					return
				default:
				}
				d.client.Op(ctx, "/v1/ops/gc?boot=1", nil, nil)
			}
		}()
		var mu sync.Mutex
		var got []api.Lease
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					// Refused while gc holds the machine: that is fine.
					if l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"}); err == nil {
						mu.Lock()
						got = append(got, l)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-gcDone
		if len(got) == 0 {
			t.Fatal("no acquire succeeded alongside gc")
		}
		for _, l := range got {
			if _, err := os.Lstat(l.Path); err != nil {
				t.Errorf("lease %d's snapshot was deleted by a concurrent gc --boot: %v", l.ID, err)
			}
		}
	})
}
