package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/server"
)

// handSnapshot makes a snapshot of machine dir's image <m>-<t> named name,
// tagged as bmsched tags the snapshots of its leases (tag "" for none).
func handSnapshot(t *testing.T, drv btrfs.Driver, dir, machine, tc, name, tag string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := drv.Snapshot(context.Background(), filepath.Join(dir, machine+"-"+tc), path, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "build.log"), []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
	if tag != "" {
		if err := unix.Lsetxattr(path, "user.bmsched.lease", []byte(tag), 0); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func leaseAt(ls api.Leases, path string) *api.Lease {
	for i := range ls.Leases {
		if ls.Leases[i].Path == path {
			return &ls.Leases[i]
		}
	}
	return nil
}

// TestAdoptOnStart: a daemon starting on a fresh database adopts each
// tagged snapshot under its final name, whatever made it: another
// database, an older bmsched (a bare id), a lease id that clashes with a
// live one (which gets a new id). --gc-on-boot does not sweep on a
// database that never saw a boot: a fresh database is not a reboot.
// Later, `gc --boot` removes only the orphans of an earlier boot.
func TestAdoptOnStart(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		cfg := server.Config{BootID: "boot-2", GCOnBoot: true}
		drv := driverOf(t, root)
		dir := addMachine(t, drv, vol, "lin", "gcc")
		nolink := addMachine(t, drv, vol, "gone", "gcc")
		d := startDaemon(t, root, cfg)
		live, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		d.stop()
		if err := os.Remove(filepath.Join(nolink, "gone")); err != nil {
			t.Fatal(err)
		}
		earlier := handSnapshot(t, drv, dir, "lin", "gcc", "lin-gcc-040", "db=0000-old lease=40 boot=boot-1")
		current := handSnapshot(t, drv, dir, "lin", "gcc", "lin-gcc-041", "db=0000-old lease=41 boot=boot-2")
		older := handSnapshot(t, drv, dir, "lin", "gcc", "lin-gcc-007", "7")
		clash := handSnapshot(t, drv, filepath.Join(vol, "gone"), "gone", "gcc", "gone-gcc-001", "db=0000-old lease=1 boot=boot-1")
		untagged := handSnapshot(t, drv, dir, "lin", "gcc", "lin-gcc-byhand", "")

		// A fresh database on the same root, same boot, --gc-on-boot.
		cfg.DB = filepath.Join(t.TempDir(), "fresh.db")
		d = startDaemon(t, root, cfg)
		for _, p := range []string{live.Path, earlier, current, older, clash, untagged, filepath.Join(nolink, "gone-1")} {
			if _, err := os.Lstat(filepath.Join(p, ".")); err != nil {
				t.Fatalf("a fresh database's start removed %s: %v", p, err)
			}
		}
		ls := d.leases(context.Background(), false)
		if len(ls.Leases) != 5 {
			t.Fatalf("adopted %d leases, want 5 (every tagged snapshot): %+v", len(ls.Leases), ls.Leases)
		}
		want := map[string]struct {
			id     uint64
			reason string
		}{
			live.Path: {0, "another database"}, earlier: {40, "another database"}, current: {41, "another database"},
			older: {7, "older format"}, clash: {0, "another database"},
		}
		for p, w := range want {
			l := leaseAt(ls, p)
			if l == nil {
				t.Fatalf("no lease adopted %s", p)
			}
			if l.State != "orphaned" || l.Owner != nil || !strings.Contains(l.Adopted, w.reason) {
				t.Errorf("%s adopted as %s, owner %+v, because %q; want orphaned, no owner, %q", p, l.State, l.Owner, l.Adopted, w.reason)
			}
			if w.id != 0 && l.ID != w.id {
				t.Errorf("%s adopted as lease %d, want its tag's id %d", p, l.ID, w.id)
			}
		}
		// Two snapshots tagged with id 1: one keeps it, the other gets a
		// new id above every id on disk.
		a, b := leaseAt(ls, live.Path).ID, leaseAt(ls, clash).ID
		if min(a, b) != 1 || max(a, b) <= 41 {
			t.Errorf("two snapshots tagged with id 1 adopted as leases %d and %d; want 1 and a new id above 41", a, b)
		}
		// Ids go on above every id on disk.
		l, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		if l.ID <= 41 {
			t.Errorf("new lease %d: not above the highest id on disk, 41", l.ID)
		}
		if _, err := d.release(context.Background(), l.ID, ""); err != nil {
			t.Fatal(err)
		}

		// gc --boot ends the orphan of the earlier boot only; an orphan of
		// an unknown boot (an older tag) is kept.
		if _, err := d.client.Op(context.Background(), "/v1/ops/gc?boot=1", nil, nil); err != nil {
			t.Fatal(err)
		}
		for p, gone := range map[string]bool{earlier: true, clash: true, current: false, older: false, live.Path: false} {
			_, err := os.Lstat(p)
			if gone != os.IsNotExist(err) {
				t.Errorf("after gc --boot, %s exists: %v; want gone: %v", p, err == nil, gone)
			}
		}
	})
}

// TestAdoptRestoredBackup: a database restored from a backup adopts the
// snapshots of leases handed out after the backup (ids above its counter)
// and counts on from the root's id mark, never handing out those names
// again. Its own live lease is still its own.
func TestAdoptRestoredBackup(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		cfg := server.Config{BootID: "boot-1", DB: filepath.Join(t.TempDir(), "bmsched.db")}
		addMachine(t, driverOf(t, root), vol, "lin", "gcc")
		d := startDaemon(t, root, cfg)
		first, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "lin", Toolchain: "gcc", Label: "first"})
		if err != nil {
			t.Fatal(err)
		}
		d.stop()
		backup, err := os.ReadFile(cfg.DB)
		if err != nil {
			t.Fatal(err)
		}
		d = startDaemon(t, root, cfg)
		second, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "lin", Toolchain: "gcc", Label: "second"})
		if err != nil {
			t.Fatal(err)
		}
		d.stop()
		if err := os.WriteFile(cfg.DB, backup, 0o600); err != nil {
			t.Fatal(err)
		}

		d = startDaemon(t, root, cfg)
		ls := d.leases(context.Background(), false)
		if l := leaseAt(ls, first.Path); l == nil || l.State != "active" || l.Owner == nil || l.Owner.Label != "first" {
			t.Fatalf("the backup's own lease: %+v", l)
		}
		l := leaseAt(ls, second.Path)
		if l == nil || l.ID != second.ID || l.State != "orphaned" || !strings.Contains(l.Adopted, "above this database's counter") {
			t.Fatalf("the lease handed out after the backup: %+v; want it adopted as orphaned lease %d", l, second.ID)
		}
		third, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		if third.ID <= second.ID || third.Path == second.Path {
			t.Fatalf("after the restore, acquire handed out lease %d at %s again", third.ID, third.Path)
		}
		// A restart of the same database on the same root is not a
		// restore: ids go on from its own counter.
		d.stop()
		d = startDaemon(t, root, cfg)
		fourth, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		if fourth.ID != third.ID+1 {
			t.Errorf("after a plain restart the next lease is %d, want %d", fourth.ID, third.ID+1)
		}
	})
}
