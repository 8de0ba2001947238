package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
	"golang.org/x/sys/unix"
)

// Releases of one lease racing each other: one deletes, the others wait
// for it and say the lease had already ended; the end is logged once.
func TestLeaseReleaseRace(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		addMachine(t, driverOf(t, root), vol, "lin", "gcc")
		d := startDaemon(t, root, server.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for round := range 5 {
			l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
			if err != nil {
				t.Fatal(err)
			}
			const n = 8
			msgs := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					msgs[i], errs[i] = d.release(ctx, l.ID, "")
				}()
			}
			wg.Wait()
			released := 0
			for i := range n {
				switch {
				case errs[i] != nil:
					t.Errorf("round %d: release: %v", round, errs[i])
				case msgs[i] == fmt.Sprintf("lease %d released", l.ID):
					released++
				case msgs[i] != fmt.Sprintf("lease %d had already ended", l.ID):
					t.Errorf("round %d: release said %q", round, msgs[i])
				}
			}
			if released != 1 {
				t.Errorf("round %d: %d releases say they released lease %d; want 1: %q", round, released, l.ID, msgs)
			}
			if _, err := os.Lstat(l.Path); !os.IsNotExist(err) {
				t.Errorf("round %d: snapshot after release: %v", round, err)
			}
			var es api.Events
			if err := d.client.Do(ctx, "GET", "/v1/events?n=1000", nil, &es); err != nil {
				t.Fatal(err)
			}
			ends := 0
			for _, e := range es.Events {
				if e.Lease == l.ID && strings.Contains(e.Message, "ended") {
					ends++
				}
			}
			if ends != 1 {
				t.Errorf("round %d: lease %d ended %d times in the event log", round, l.ID, ends)
			}
		}
	})
}

// A release whose snapshot cannot be deleted answers once the snapshot is
// set aside, its name gone; the lease stays releasing, holding its slot
// and saying why, and the deleter's retries end it once the snapshot can
// go, without another release.
func TestLeaseReleaseRetry(t *testing.T) {
	// The plain driver refuses to delete a directory without its mark:
	// a failure that is easy to cause and to undo.
	root, vol := newRoot(t, t.TempDir())
	addMachine(t, driverOf(t, root), vol, "lin", "gcc")
	d := startDaemon(t, root, server.Config{MaxLeases: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
	if err != nil {
		t.Fatal(err)
	}
	const mark = "user.bmsched.uuid"
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(l.Path, mark, buf)
	if err != nil {
		t.Fatal(err)
	}
	uuid := buf[:n]
	if err := unix.Lremovexattr(l.Path, mark); err != nil {
		t.Fatal(err)
	}
	if msg, err := d.release(ctx, l.ID, ""); err != nil || msg != fmt.Sprintf("lease %d released", l.ID) {
		t.Fatalf("release: %q, %v", msg, err)
	}
	if _, err := os.Lstat(l.Path); !os.IsNotExist(err) {
		t.Fatalf("snapshot name after release: %v; want it gone", err)
	}
	aside := filepath.Join(filepath.Dir(l.Path), fmt.Sprintf(".bmsched-release-%d", l.ID))
	eventually(t, 10*time.Second, "the failed delete recorded", func() bool {
		ls := d.leases(ctx, false).Leases
		return len(ls) == 1 && ls[0].State == "releasing" && strings.Contains(ls[0].LastError, "not a subvolume")
	})
	if msg, err := d.release(ctx, l.ID, ""); err != nil || msg != fmt.Sprintf("lease %d had already ended", l.ID) {
		t.Fatalf("release again while its delete waits: %q, %v", msg, err)
	}
	// Its slot is still taken: the subvolume is still there.
	if _, err := os.Lstat(aside); err != nil {
		t.Fatal(err)
	}
	if _, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"}); exitOf(err) != api.ExitNoCapacity {
		t.Fatalf("acquire while the failed delete holds the only slot: %v", err)
	}
	if err := unix.Lsetxattr(aside, mark, uuid, 0); err != nil {
		t.Fatal(err)
	}
	d.waitDeleted(ctx)
	if _, err := os.Lstat(aside); !os.IsNotExist(err) {
		t.Fatalf("snapshot after its delete succeeded: %v", err)
	}
	l2, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
	if err != nil {
		t.Fatalf("acquire after the delete freed the slot: %v", err)
	}
	if _, err := d.release(ctx, l2.ID, ""); err != nil {
		t.Fatal(err)
	}
}

// Leases of an earlier boot died with their VMs: the next daemon ends
// them and deletes their snapshots before it lets clients in; ids go on.
func TestLeaseEndsAtReboot(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		addMachine(t, driverOf(t, root), vol, "lin", "gcc")
		db := filepath.Join(t.TempDir(), "bmsched.db")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		d := startDaemon(t, root, server.Config{DB: db, BootID: "boot-1"})
		var old []api.Lease
		for range 2 {
			l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc", TTL: "1h"})
			if err != nil {
				t.Fatal(err)
			}
			old = append(old, l)
		}
		d.stop()
		d = startDaemon(t, root, server.Config{DB: db, BootID: "boot-1"})
		if n := len(d.leases(ctx, false).Leases); n != 2 {
			t.Fatalf("after a restart in the same boot: %d leases, want 2", n)
		}
		d.stop()

		d = startDaemon(t, root, server.Config{DB: db, BootID: "boot-2"})
		d.waitDeleted(ctx)
		if ls := d.leases(ctx, false).Leases; len(ls) != 0 {
			t.Fatalf("after a reboot: leases %+v, want none", ls)
		}
		for _, l := range old {
			if _, err := os.Lstat(l.Path); !os.IsNotExist(err) {
				t.Errorf("snapshot %s of a lease of the earlier boot: %v", l.Path, err)
			}
		}
		l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		if l.ID != 3 {
			t.Errorf("first lease after the reboot has id %d, want 3", l.ID)
		}
		if _, err := d.release(ctx, l.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
}
