package volume

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

func TestCompare(t *testing.T) {
	dir := Identity{Type: "ext4"}
	a := Identity{FS: "btrfs:a", Type: "btrfs", Mount: true}
	b := Identity{FS: "btrfs:b", Type: "btrfs", Mount: true}
	for _, c := range []struct {
		known, now Identity
		want       Change
	}{
		{dir, dir, Same},
		{dir, Identity{}, Same}, // a plain directory removed: its machines go
		{dir, a, Appeared},      // mounted after the daemon started
		{a, a, Same},            // remounted
		{a, dir, Unavailable},   // unmounted: the directory under it shows
		{a, Identity{}, Unavailable},
		{a, b, Replaced},
	} {
		if got := Compare(c.known, c.now); got != c.want {
			t.Errorf("Compare(%+v, %+v) = %v, want %v", c.known, c.now, got, c.want)
		}
	}
}

// Probe tells a directory from a mount and one btrfs from another, and
// WatchMounts hears each mount and unmount.
func TestProbeAndWatch(t *testing.T) {
	if err := loopbtrfs.Available(); err != nil {
		if os.Getenv(loopbtrfstest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	fs1 := loopbtrfstest.TB(t)
	vol := filepath.Join(fs1, "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	before, err := Probe(vol)
	if err != nil || before.Mount || before.Type != "btrfs" || !strings.HasPrefix(before.FS, "btrfs:") {
		t.Fatalf("Probe of a directory: %+v, %v", before, err)
	}

	changed := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := WatchMounts(ctx, func() { changed <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	fs2 := loopbtrfstest.TB(t)
	quiet(changed, 200*time.Millisecond) // the second loop mount's own events
	if out, err := exec.Command("mount", "--bind", fs2, vol).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind: %v: %s", err, out)
	}
	defer exec.Command("umount", vol).Run()
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("no word of a mount within a second")
	}
	mounted, err := Probe(vol)
	if err != nil || !mounted.Mount || mounted.FS == before.FS {
		t.Fatalf("Probe of a mounted volume: %+v, %v (before: %+v)", mounted, err, before)
	}
	if c := Compare(before, mounted); c != Appeared {
		t.Errorf("mount after start: %v", c)
	}
	if out, err := exec.Command("umount", vol).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v: %s", err, out)
	}
	select {
	case <-changed:
	case <-time.After(time.Second):
		t.Fatal("no word of an unmount within a second")
	}
	after, err := Probe(vol)
	if err != nil || after != before {
		t.Fatalf("Probe after unmount: %+v, %v; want %+v", after, err, before)
	}
	if c := Compare(mounted, after); c != Unavailable {
		t.Errorf("unmount: %v", c)
	}
}

// quiet drops what ch says until it has been quiet for d.
func quiet(ch chan struct{}, d time.Duration) {
	for {
		select {
		case <-ch:
		case <-time.After(d):
			return
		}
	}
}

// A mount of a filesystem that is not btrfs gets an identity file at
// first sight, and keeps it.
func TestProbeIDFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	vol := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", vol).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", vol).Run()
	first, err := Probe(vol)
	if err != nil || !first.Mount || !strings.HasPrefix(first.FS, "id:") {
		t.Fatalf("first Probe of a tmpfs: %+v, %v", first, err)
	}
	again, err := Probe(vol)
	if err != nil || again != first {
		t.Fatalf("second Probe: %+v, %v; want %+v", again, err, first)
	}
	if _, err := os.Stat(filepath.Join(vol, IDFile)); err != nil {
		t.Fatal(err)
	}
}

// Another subvolume of the same btrfs mounted where the volume's was is
// another filesystem to bmsched: the same filesystem UUID is not enough.
func TestProbeTellsSubvolumesApart(t *testing.T) {
	if err := loopbtrfs.Available(); err != nil {
		if os.Getenv(loopbtrfstest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	fs := loopbtrfstest.TB(t)
	sub := filepath.Join(fs, "sub")
	if out, err := exec.Command("btrfs", "subvolume", "create", sub).CombinedOutput(); err != nil {
		t.Fatalf("btrfs subvolume create: %v: %s", err, out)
	}
	vol := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	probeMounted := func(src string) Identity {
		t.Helper()
		if out, err := exec.Command("mount", "--bind", src, vol).CombinedOutput(); err != nil {
			t.Fatalf("mount --bind: %v: %s", err, out)
		}
		defer exec.Command("umount", vol).Run()
		id, err := Probe(vol)
		if err != nil || !id.Mount {
			t.Fatalf("Probe: %+v, %v", id, err)
		}
		return id
	}
	top, subvol := probeMounted(fs), probeMounted(sub)
	if c := Compare(top, subvol); c != Replaced {
		t.Errorf("the top level, then a subvolume of the same btrfs: %v, want replaced (%s vs %s)", c, top.FS, subvol.FS)
	}
	if again := probeMounted(fs); Compare(top, again) != Same {
		t.Errorf("the same top level mounted again: %v (%s vs %s)", Compare(top, again), top.FS, again.FS)
	}
}
