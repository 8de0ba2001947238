package warm

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

// forEachDriver runs f on a loop-mounted btrfs and on plain directories.
func forEachDriver(t *testing.T, f func(t *testing.T, env *env)) {
	t.Run("btrfs", func(t *testing.T) { f(t, newEnv(t, loopbtrfstest.TB(t), "btrfs")) })
	t.Run("plain", func(t *testing.T) { f(t, newEnv(t, t.TempDir(), "plain")) })
}

// env is a machines root with machine "m" on volume "default": revision
// 1 current, image m-gcc bootstrapped from it; its database, inventory,
// and a pool whose refiller the test runs by hand (round), so that what
// it does is decided by the test, not by timing.
type env struct {
	t    *testing.T
	root string
	dir  string // the machine's directory
	drv  btrfs.Driver
	db   *db.DB
	inv  *inventory.Inventory
}

func newEnv(t *testing.T, base, driver string) *env {
	t.Helper()
	root := filepath.Join(base, "machines")
	dir := filepath.Join(root, "default", "m")
	must(t, os.MkdirAll(dir, 0o755))
	drv, err := btrfs.ForPath(root, driver)
	must(t, err)
	rev := filepath.Join(dir, "m-1")
	must(t, drv.Create(rev))
	must(t, os.WriteFile(filepath.Join(rev, "os-release"), []byte("rev 1\n"), 0o644))
	must(t, drv.SetReadOnly(rev, true))
	must(t, os.Symlink("m-1", filepath.Join(dir, "m")))
	must(t, drv.Snapshot(context.Background(), rev, filepath.Join(dir, "m-gcc"), true))
	d, err := db.Open(filepath.Join(t.TempDir(), "b.db"), db.Options{})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	inv, err := inventory.New(root, d, driver)
	must(t, err)
	e := &env{t: t, root: root, dir: dir, drv: drv, db: d, inv: inv}
	e.rescan()
	return e
}

func (e *env) pool(cfg Config) *Pool {
	p := New(cfg, e.inv, e.db, slog.New(slog.NewTextHandler(testLog{e.t}, nil)))
	p.sweepAll()
	return p
}

func (e *env) rescan() { must(e.t, e.inv.RescanAll("scan")) }

// imageUUID is the UUID of m-gcc as the database records it.
func (e *env) imageUUID() string {
	m, ok, err := e.db.Machine("default", "m")
	must(e.t, err)
	if !ok || len(m.Images) != 1 {
		e.t.Fatalf("machine record %+v", m)
	}
	return m.Images[0].UUID
}

// warm lists the pool's snapshots on disk, sorted, as paths relative to
// the machine's directory; any warm entry beside the pool's directory
// counts too.
func (e *env) warm() []string {
	var out []string
	des, err := os.ReadDir(e.dir)
	must(e.t, err)
	for _, de := range des {
		if fsscan.IsWarmName(de.Name()) && de.Name() != PoolDir {
			out = append(out, de.Name())
		}
	}
	des, err = os.ReadDir(filepath.Join(e.dir, PoolDir))
	if !os.IsNotExist(err) {
		must(e.t, err)
	}
	for _, de := range des {
		out = append(out, filepath.Join(PoolDir, de.Name()))
	}
	sort.Strings(out)
	return out
}

// rebootstrap replaces m-gcc with a new image, as bootstrap does.
func (e *env) rebootstrap() {
	img := filepath.Join(e.dir, "m-gcc")
	must(e.t, e.drv.Delete(context.Background(), img))
	must(e.t, e.drv.Snapshot(context.Background(), filepath.Join(e.dir, "m-1"), img, true))
	e.rescan()
}

// events are the kinds of the events recorded.
func (e *env) events() string {
	evs, err := e.db.Events(0, 0)
	must(e.t, err)
	var kinds []string
	for _, ev := range evs {
		if ev.Source == "warm" {
			kinds = append(kinds, ev.Kind)
		}
	}
	return strings.Join(kinds, " ")
}

// checkSnapshot checks that path is a writable snapshot of the image
// uuid, holding the image's files. One waiting in the pool must be out
// of every build's reach: in a directory only the daemon's user enters.
func (e *env) checkSnapshot(path, uuid string, taken bool) {
	e.t.Helper()
	info, err := e.drv.Info(path)
	must(e.t, err)
	if info.Readonly || info.ParentUUID != uuid {
		e.t.Errorf("%s: readonly %v, parent %s; want a writable snapshot of %s", path, info.Readonly, info.ParentUUID, uuid)
	}
	b, err := os.ReadFile(filepath.Join(path, "os-release"))
	if err != nil || string(b) != "rev 1\n" {
		e.t.Errorf("%s/os-release: %q, %v", path, b, err)
	}
	if !taken {
		fi, err := os.Lstat(filepath.Dir(path))
		must(e.t, err)
		if filepath.Base(filepath.Dir(path)) != PoolDir || fi.Mode() != fs.ModeDir|0o700 {
			e.t.Errorf("%s waits in %s, mode %v: want the pool's directory, 0700", path, filepath.Dir(path), fi.Mode())
		}
		return
	}
	must(e.t, os.WriteFile(filepath.Join(path, "build.log"), []byte("written"), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
