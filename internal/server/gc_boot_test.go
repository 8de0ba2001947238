package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// TestGCOnBoot: a daemon started with --gc-on-boot after the host
// rebooted ends the leases of the earlier boot, deletes snapshots no lease
// holds and sweeps machines left without a link, as the Build OS monitor
// does; on a restart within the same boot it touches nothing.
func TestGCOnBoot(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		db := filepath.Join(t.TempDir(), "bmsched.db")
		cfg := server.Config{DB: db, BootID: "boot-1", GCOnBoot: true}
		d := startDaemon(t, root, cfg)
		live := addMachine(t, d.drv, vol, "live", "gcc")
		dead := addMachine(t, d.drv, vol, "dead", "gcc")
		if err := os.Remove(filepath.Join(dead, "dead")); err != nil {
			t.Fatal(err)
		}
		byHand := filepath.Join(live, "live-gcc-byhand")
		if err := d.drv.Snapshot(context.Background(), filepath.Join(live, "live-gcc"), byHand, false); err != nil {
			t.Fatal(err)
		}
		if _, err := d.client.Op(context.Background(), "/v1/ops/gc", nil, nil); err != nil {
			t.Fatal(err)
		}
		l, err := d.acquire(context.Background(), api.AcquireRequest{Machine: "live", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		d.stop()

		// Same boot: nothing is swept.
		d = startDaemon(t, root, cfg)
		d.stop()
		for _, p := range []string{byHand, l.Path, filepath.Join(dead, "dead-1")} {
			if _, err := os.Lstat(p); err != nil {
				t.Fatalf("restart within the boot removed %s: %v", p, err)
			}
		}

		// A new boot: the monitor's cleanup.
		cfg.BootID = "boot-2"
		d = startDaemon(t, root, cfg)
		for _, p := range []string{byHand, l.Path, dead} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Errorf("after gc on boot %s remains (%v)", p, err)
			}
		}
		for _, p := range []string{filepath.Join(live, "live-gcc"), filepath.Join(live, "live-1")} {
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("gc on boot removed %s of an active machine: %v", p, err)
			}
		}
		d.waitDeleted(context.Background())
		if got := d.leases(context.Background(), false); len(got.Leases) != 0 {
			t.Errorf("leases of the earlier boot remain: %+v", got.Leases)
		}
	})
}
