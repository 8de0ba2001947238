package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
	"github.com/bmsched/bmsched/internal/server"
)

// A daemon that first looks at a volume while it is unmounted (the first
// start after an upgrade to volume records, say) takes the empty
// directory for the unmounted volume it is, not for a volume emptied:
// its machines and leases are kept, and the volume resumes once mounted.
func TestFirstSightOfAnUnmountedVolume(t *testing.T) {
	root, _ := newRoot(t, t.TempDir())
	fs := loopbtrfstest.TB(t)
	disk := filepath.Join(root, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	mount := func() {
		t.Helper()
		if out, err := exec.Command("mount", "--bind", fs, disk).CombinedOutput(); err != nil {
			t.Fatalf("mount --bind: %v: %s", err, out)
		}
	}
	umount := func() {
		t.Helper()
		if out, err := exec.Command("umount", disk).CombinedOutput(); err != nil {
			t.Fatalf("umount: %v: %s", err, out)
		}
	}
	mount()
	t.Cleanup(func() { exec.Command("umount", disk).Run() })
	addMachine(t, driverOf(t, disk), disk, "lin", "gcc")

	cfg := server.Config{DB: filepath.Join(t.TempDir(), "bmsched.db")}
	d := startDaemon(t, root, cfg)
	l, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "disk/lin", Toolchain: "gcc"})
	if err != nil {
		t.Fatal(err)
	}
	d.stop()

	// What a database from before volume records knows: machines and
	// leases, and nothing of the volume.
	bdb, err := db.Open(cfg.DB, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.DeleteVolume("disk"); err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	umount()

	d = startDaemon(t, root, cfg)
	list := d.list()
	var state string
	for _, m := range list.Machines {
		if m.Name == "lin" {
			state = m.State
		}
	}
	if state != "unavailable" {
		t.Fatalf("machine on a volume first seen unmounted: %q, want unavailable (%+v)", state, list.Machines)
	}
	if ls := d.leases(context.Background(), false); len(ls.Leases) != 1 || ls.Leases[0].State != "active" {
		t.Fatalf("leases on a volume first seen unmounted: %+v", ls.Leases)
	}
	mount()
	eventually(t, 2e9, "the volume to resume once mounted", func() bool {
		for _, m := range d.list().Machines {
			if m.Name == "lin" && m.State == "active" {
				return true
			}
		}
		return false
	})
	if _, err := os.Stat(filepath.Join(l.Path, ".")); err != nil {
		t.Fatalf("the lease's snapshot after the volume came back: %v", err)
	}
	if ls := d.leases(context.Background(), false); len(ls.Leases) != 1 {
		t.Fatalf("leases after the volume came back: %+v", ls.Leases)
	}
}

// Recovery put off for a volume unavailable at start is done once it is
// back: a lease of an earlier boot on it is kept while the volume is away
// (nothing can be deleted there) and reaped, its snapshot deleted, when it
// is mounted again.
func TestRecoveryWhenTheVolumeIsBack(t *testing.T) {
	root, _ := newRoot(t, t.TempDir())
	fs := loopbtrfstest.TB(t)
	disk := filepath.Join(root, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	bind := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	bind("mount", "--bind", fs, disk)
	t.Cleanup(func() { exec.Command("umount", disk).Run() })
	addMachine(t, driverOf(t, disk), disk, "lin", "gcc")

	cfg := server.Config{DB: filepath.Join(t.TempDir(), "bmsched.db"), BootID: "boot-1"}
	d := startDaemon(t, root, cfg)
	l, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "disk/lin", Toolchain: "gcc"})
	if err != nil {
		t.Fatal(err)
	}
	d.stop()
	bind("umount", disk)

	cfg.BootID = "boot-2"
	d = startDaemon(t, root, cfg)
	if ls := d.leases(context.Background(), false); len(ls.Leases) != 1 {
		t.Fatalf("the earlier boot's lease on an unavailable volume: %+v; want it kept until the volume is back", ls.Leases)
	}
	bind("mount", "--bind", fs, disk)
	eventually(t, 3e9, "the earlier boot's lease to be reaped once the volume is back", func() bool {
		return len(d.leases(context.Background(), false).Leases) == 0
	})
	if _, err := os.Lstat(l.Path); !os.IsNotExist(err) {
		t.Fatalf("the reaped lease's snapshot: %v", err)
	}
}
