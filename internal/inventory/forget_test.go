package inventory

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// Forget drops from the record only the snapshots and temporaries that
// are gone from disk, with no scan; what is still there stays.
func TestForget(t *testing.T) {
	inv, dir := newInventory(t)
	drv := btrfs.NewPlain()
	for _, p := range []string{"lin-gcc-001", "lin-gcc-002"} {
		if err := drv.Snapshot(context.Background(), filepath.Join(dir, "lin-gcc"), filepath.Join(dir, p), false); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{".bmsched-lease-3", ".bmsched-lease-4"} {
		if err := os.Mkdir(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := inv.RescanMachine("default", "lin", "test"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"lin-gcc-001", ".bmsched-lease-3"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	before := inv.DB.Commits()
	changed := inv.Changed()
	all := []string{"lin-gcc-001", "lin-gcc-002", ".bmsched-lease-3", ".bmsched-lease-4", "lin-gcc-999"}
	if err := inv.Forget("default", "lin", all); err != nil {
		t.Fatal(err)
	}
	m, _, err := inv.DB.Machine("default", "lin")
	if err != nil {
		t.Fatal(err)
	}
	var snaps []string
	for _, s := range m.Snapshots {
		snaps = append(snaps, s.Name)
	}
	if !slices.Equal(snaps, []string{"lin-gcc-002"}) || !slices.Equal(m.Temps, []string{".bmsched-lease-4"}) {
		t.Errorf("after Forget: snapshots %q, temporaries %q", snaps, m.Temps)
	}
	if c := inv.DB.Commits() - before; c != 1 {
		t.Errorf("Forget made %d commits, want 1", c)
	}
	select {
	case <-changed:
	default:
		t.Error("Forget changed the record and told no one")
	}
	// Nothing left to drop: no commit.
	before = inv.DB.Commits()
	if err := inv.Forget("default", "lin", all); err != nil {
		t.Fatal(err)
	}
	if c := inv.DB.Commits() - before; c != 0 {
		t.Errorf("a Forget with nothing to drop made %d commits", c)
	}
}
