package ops

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/inventory"
)

// newOps makes operator commands over a plain-directory root with an
// empty machine directory "lin" in volume "default".
func newOps(t *testing.T) (*Ops, paths) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "default", "lin"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(filepath.Join(t.TempDir(), "b.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	inv, err := inventory.New(root, d, "plain")
	if err != nil {
		t.Fatal(err)
	}
	o := New(Config{}, d, inv, nil)
	return o, o.paths("default", "lin")
}

func TestSwitchLinkIsAtomicAndRecoversItsTransient(t *testing.T) {
	_, p := newOps(t)
	// A transient link left by an interrupted switch is replaced.
	if err := os.Symlink("lin-9", p.transient()); err != nil {
		t.Fatal(err)
	}
	for _, rev := range []uint64{1, 2} {
		if err := switchLink(p, rev); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.Readlink(p.link()); got != filepath.Base(p.revision(rev)) {
			t.Fatalf("current link -> %q after switching to %d", got, rev)
		}
		if _, err := os.Lstat(p.transient()); !os.IsNotExist(err) {
			t.Fatalf("transient link left behind: %v", err)
		}
	}
	// A directory in the transient's place is not bmsched's to remove.
	if err := os.Mkdir(p.transient(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := switchLink(p, 3); err == nil {
		t.Fatal("switch replaced a directory standing where its transient link goes")
	}
	if got, _ := os.Readlink(p.link()); got != filepath.Base(p.revision(2)) {
		t.Fatalf("a refused switch moved the link to %q", got)
	}
}

func TestRemoveTempKeepsWhatIsNotOurs(t *testing.T) {
	o, p := newOps(t)
	drv := btrfs.NewPlain()
	// A receive directory holding the received subvolume and a file that
	// someone else put there.
	dir := p.temp("recv", 7)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := drv.Create(filepath.Join(dir, "lin-1")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := o.removeTemp("default", dir); err == nil {
		t.Fatal("removeTemp removed a directory holding a file bmsched did not make")
	}
	if _, err := os.Lstat(filepath.Join(dir, "notes")); err != nil {
		t.Fatalf("the stranger's file is gone: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "lin-1")); !os.IsNotExist(err) {
		t.Fatalf("the received subvolume was kept: %v", err)
	}
	// A temporary that is a subvolume, and one that is already gone.
	sub := p.temp("add", 8)
	if err := drv.Create(sub); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{sub, sub} {
		if err := o.removeTemp("default", path); err != nil {
			t.Fatalf("removeTemp %s: %v", path, err)
		}
	}
}

func TestRenamedIntoPlace(t *testing.T) {
	o, p := newOps(t)
	drv := btrfs.NewPlain()
	op := &db.Op{ID: 3, Volume: "default", Machine: "lin", Rev: 1, Temp: p.temp("add", 3)}
	if o.renamedIntoPlace(op) {
		t.Fatal("placed, with neither temporary nor revision there")
	}
	if err := drv.Create(op.Temp); err != nil {
		t.Fatal(err)
	}
	if o.renamedIntoPlace(op) {
		t.Fatal("placed, with the revision still under its temporary name")
	}
	if err := os.Rename(op.Temp, p.revision(1)); err != nil {
		t.Fatal(err)
	}
	if !o.renamedIntoPlace(op) {
		t.Fatal("not placed, after the rename into place")
	}
}
