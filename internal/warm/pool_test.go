package warm

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// An acquire of an image with no pool misses and starts one; the refill
// makes the pool; the next acquire takes a ready snapshot by rename: a
// writable snapshot of the image, in the lease temporary's place; the
// refill makes up for it.
func TestFillTakeRefill(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := e.pool(Config{PerImage: 2})
		uuid := e.imageUUID()
		dest := filepath.Join(e.dir, ".bmsched-lease-1")
		if p.Take("default", "m", "gcc", uuid, dest) {
			t.Fatal("took a snapshot from an empty pool")
		}
		p.round()
		if got := e.warm(); len(got) != 2 {
			t.Fatalf("warm entries after a fill: %v, want 2", got)
		}
		if !p.Take("default", "m", "gcc", uuid, dest) {
			t.Fatal("no snapshot taken from a full pool")
		}
		e.checkSnapshot(dest, uuid, true)
		if got := e.warm(); len(got) != 1 {
			t.Errorf("warm entries after a take: %v, want 1", got)
		}
		if got := p.Ready("default", "m"); !reflect.DeepEqual(got, map[string]int{"gcc": 1}) {
			t.Errorf("Ready = %v", got)
		}
		p.round()
		st := p.Stats()
		if st.Ready != 2 || st.Hits != 1 || st.Misses != 1 || st.Refills != 3 || st.Images != 1 {
			t.Errorf("stats %+v; want 2 ready, 1 hit, 1 miss, 3 refills, 1 image", st)
		}
		if got := e.events(); got != "warm-filled" {
			t.Errorf("events %q: want one warm-filled, not one per refill", got)
		}
		// The ready ones are snapshots of the image, which no build can
		// write into before it is handed one.
		for _, name := range e.warm() {
			e.checkSnapshot(filepath.Join(e.dir, name), uuid, false)
		}
	})
}

// Take hands out nothing but a snapshot of the image asked for, and
// nothing for an image with no target.
func TestTakeOnlyTheImageAskedFor(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := e.pool(Config{For: []Target{{Machine: "m", Toolchain: "gcc", N: 1}}})
		uuid := e.imageUUID()
		dest := filepath.Join(e.dir, ".bmsched-lease-1")
		p.Take("default", "m", "gcc", uuid, dest)
		p.round()
		switch {
		case p.Take("default", "m", "gcc", "another-uuid", dest):
			t.Error("took a snapshot of another image")
		case p.Take("default", "m", "clang", uuid, dest):
			t.Error("took a snapshot for a toolchain with no target")
		case p.Take("default", "m", "gcc", uuid, filepath.Join(e.root, "default", ".bmsched-lease-1")):
			t.Error("took a snapshot into another directory")
		}
		if got := e.warm(); len(got) != 1 {
			t.Errorf("warm entries %v, want the 1 made", got)
		}
	})
}

// Bootstrapped again: the pool of the old image is drained and refilled
// from the new one.
func TestImageReplaced(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := e.pool(Config{PerImage: 2})
		old := e.imageUUID()
		p.Take("default", "m", "gcc", old, filepath.Join(e.dir, ".bmsched-lease-1"))
		p.round()
		before := e.warm()
		e.rebootstrap()
		uuid := e.imageUUID()
		if uuid == old {
			t.Fatal("the image kept its UUID")
		}
		p.round()
		after := e.warm()
		if len(after) != 2 {
			t.Fatalf("warm entries %v, want 2", after)
		}
		for _, name := range after {
			for _, b := range before {
				if b == name {
					t.Errorf("%s of the old image is still in the pool", name)
				}
			}
			e.checkSnapshot(filepath.Join(e.dir, name), uuid, false)
		}
		if p.Take("default", "m", "gcc", old, filepath.Join(e.dir, ".bmsched-lease-2")) {
			t.Error("took a snapshot for the old image")
		}
		if got := e.events(); got != "warm-filled warm-drained warm-filled" {
			t.Errorf("events %q", got)
		}
	})
}

// A machine that retires (its link removed) loses its pool; one that is
// idle too.
func TestRetiredAndIdle(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := e.pool(Config{PerImage: 1, Idle: time.Hour})
		p.Take("default", "m", "gcc", e.imageUUID(), filepath.Join(e.dir, ".bmsched-lease-1"))
		p.round()
		must(t, os.Remove(filepath.Join(e.dir, "m")))
		e.rescan()
		p.round()
		if got := e.warm(); len(got) != 0 {
			t.Errorf("retired machine keeps %v", got)
		}
		must(t, os.Symlink("m-1", filepath.Join(e.dir, "m")))
		e.rescan()
		p.round()
		if got := e.warm(); len(got) != 1 {
			t.Fatalf("active again: warm entries %v, want 1", got)
		}
		p.cfg.Idle = time.Millisecond
		time.Sleep(5 * time.Millisecond)
		p.round()
		if got, st := e.warm(), p.Stats(); len(got) != 0 || st.Images != 0 {
			t.Errorf("idle pool keeps %v (%d images)", got, st.Images)
		}
	})
}

// Leftovers of a daemon before are removed at start; a volume that
// changed is dropped from memory, and what is left on it is removed
// before it is filled again.
func TestSweeps(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		// Left by a daemon before: in the pool's directory, and beside it.
		must(t, os.Mkdir(filepath.Join(e.dir, PoolDir), 0o700))
		for _, left := range []string{filepath.Join(PoolDir, "gcc-7"), fsscan.WarmPrefix + "gcc-8"} {
			must(t, e.drv.Snapshot(context.Background(), filepath.Join(e.dir, "m-gcc"), filepath.Join(e.dir, left), false))
		}
		p := e.pool(Config{PerImage: 1})
		if got := e.warm(); len(got) != 0 {
			t.Fatalf("leftovers after start: %v", got)
		}
		if _, err := os.Lstat(filepath.Join(e.dir, PoolDir)); !os.IsNotExist(err) {
			t.Errorf("the pool's directory is left after the sweep: %v", err)
		}
		uuid := e.imageUUID()
		p.Take("default", "m", "gcc", uuid, filepath.Join(e.dir, ".bmsched-lease-1"))
		p.round()
		made := e.warm()
		p.VolumeChanged("default")
		if p.Take("default", "m", "gcc", uuid, filepath.Join(e.dir, ".bmsched-lease-2")) {
			t.Error("took a snapshot of a dropped volume")
		}
		if got := e.warm(); !reflect.DeepEqual(got, made) {
			t.Errorf("dropping deleted %v", got)
		}
		p.round()
		if got := e.warm(); len(got) != 1 || got[0] == made[0] {
			t.Errorf("after the volume is back: %v, want 1 new (not %v)", got, made)
		}
		if got := e.events(); got != "warm-removed warm-filled warm-dropped warm-removed warm-filled" {
			t.Errorf("events %q", got)
		}
	})
}

// Drain, racing fills: once the machine is being deleted and drained,
// nothing of the pool is there or comes, whatever the fill was doing.
func TestDrainRacingFill(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		for range 5 {
			p := e.pool(Config{PerImage: 6})
			p.Take("default", "m", "gcc", e.imageUUID(), filepath.Join(e.dir, ".bmsched-lease-1"))
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); p.round() }()
			time.Sleep(time.Millisecond)
			must(t, e.db.SetDeleting("default", "m", true))
			must(t, p.Drain("default", "m"))
			// What delete does next is remove the directory: nothing
			// may be there now, nor come later.
			if got := e.warm(); len(got) != 0 {
				t.Fatalf("just after a drain: %v", got)
			}
			wg.Wait()
			if got := e.warm(); len(got) != 0 {
				t.Fatalf("after a drain and the fill it raced: %v", got)
			}
			if _, err := os.Lstat(filepath.Join(e.dir, PoolDir)); !os.IsNotExist(err) {
				t.Fatalf("the pool's directory is left after a drain: %v", err)
			}
			must(t, e.db.SetDeleting("default", "m", false))
		}
	})
}

// Run and Stop: the refiller fills on its own after a take, follows a
// rescan that found the image replaced, and stops.
func TestStartStop(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := New(Config{PerImage: 2}, e.inv, e.db, nil)
		p.Start()
		p.Take("default", "m", "gcc", e.imageUUID(), filepath.Join(e.dir, ".bmsched-lease-1"))
		eventually(t, "the pool filled", func() bool { return p.Stats().Ready == 2 })
		old := e.warm()
		e.rebootstrap()
		uuid := e.imageUUID()
		eventually(t, "the pool made again of the new image", func() bool {
			got := e.warm()
			if len(got) != 2 || got[0] == old[0] || got[1] == old[1] || p.Stats().Ready != 2 {
				return false
			}
			for _, name := range got {
				if info, err := e.drv.Info(filepath.Join(e.dir, name)); err != nil || info.ParentUUID != uuid {
					return false
				}
			}
			return true
		})
		p.Stop()
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A fill decided on before a drain makes nothing after it: the round
// read the machine as active, then delete closed and drained it.
func TestFillDecidedBeforeDrain(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := e.pool(Config{PerImage: 2})
		k := key{"default", "m", "gcc"}
		p.Take(k.volume, k.machine, k.toolchain, e.imageUUID(), filepath.Join(e.dir, ".bmsched-lease-1"))
		ep := p.epochsOf(k)
		want, uuid, why := p.judge(k)
		if why != "" || want != 2 {
			t.Fatalf("judge: %d, %q", want, why)
		}
		must(t, e.db.SetDeleting("default", "m", true))
		must(t, p.Drain("default", "m"))
		p.fill(k, uuid, want, ep)
		if got := e.warm(); len(got) != 0 {
			t.Errorf("a fill decided before the drain made %v", got)
		}
		// And the same for a volume dropped.
		must(t, e.db.SetDeleting("default", "m", false))
		ep = p.epochsOf(k)
		p.VolumeChanged("default")
		p.sweepBack()
		p.fill(k, uuid, want, ep)
		if got := e.warm(); len(got) != 0 {
			t.Errorf("a fill decided before the volume changed made %v", got)
		}
	})
}

// A ready snapshot removed by hand is a miss, and leaves dest free for
// the acquire's own snapshot.
func TestTakeOfSnapshotGone(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		p := e.pool(Config{PerImage: 1})
		uuid := e.imageUUID()
		dest := filepath.Join(e.dir, ".bmsched-lease-1")
		p.Take("default", "m", "gcc", uuid, dest)
		p.round()
		for _, name := range e.warm() {
			must(t, e.drv.Delete(context.Background(), filepath.Join(e.dir, name)))
		}
		if p.Take("default", "m", "gcc", uuid, dest) {
			t.Fatal("took a snapshot that is gone")
		}
		if _, err := os.Lstat(dest); !os.IsNotExist(err) {
			t.Errorf("%s after a failed take: %v", dest, err)
		}
		if st := p.Stats(); st.Misses != 2 || st.Hits != 0 {
			t.Errorf("stats %+v, want 2 misses", st)
		}
	})
}
