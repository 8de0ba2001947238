package inventory

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// Relink stores what a full rescan would after a link switch, with the
// same events, and declines what only a scan can judge.
func TestRelinkAgreesWithRescan(t *testing.T) {
	inv, dir := newInventory(t)
	drv := btrfs.NewPlain()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, "lin-2"), true))
	must(drv.Snapshot(context.Background(), filepath.Join(dir, "lin-gcc"), filepath.Join(dir, "lin-gcc-001"), false))
	must(os.WriteFile(filepath.Join(dir, "notes"), nil, 0o644))
	must(inv.RescanMachine("default", "lin", "test"))

	// The manual's switch: new-lin, then renamed over lin.
	must(os.Symlink("lin-2", filepath.Join(dir, "new-lin")))
	relinkAndCompare(t, inv, true)
	must(os.Rename(filepath.Join(dir, "new-lin"), filepath.Join(dir, "lin")))
	seq := lastSeq(t, inv.DB)
	got := relinkAndCompare(t, inv, true)
	if got.Current != 2 || len(got.Transients) != 0 || !got.Images[0].Stale || len(got.Strays) != 1 {
		t.Errorf("after the switch: %+v", got)
	}
	want := []string{
		"link-switched: link switched from revision 1 to 2",
		"image-stale: image gcc became stale (bootstrapped from revision 1, current is 2)",
	}
	if ks := kinds(t, inv.DB, seq); !slices.Equal(ks, want) {
		t.Errorf("events %q, want %q", ks, want)
	}

	// A link to a revision the record does not hold: only a scan knows.
	must(os.Remove(filepath.Join(dir, "lin")))
	must(os.Symlink("lin-3", filepath.Join(dir, "lin")))
	relinkAndCompare(t, inv, false)
}

// relinkAndCompare relinks, checks that Relink said ok, and that a full
// rescan then finds nothing to change; it returns the record.
func relinkAndCompare(t *testing.T, inv *Inventory, ok bool) db.Machine {
	t.Helper()
	got, err := inv.Relink("default", "lin", "test")
	if err != nil || got != ok {
		t.Fatalf("Relink = %t, %v; want %t", got, err, ok)
	}
	before, _, err := inv.DB.Machine("default", "lin")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return before
	}
	commits := inv.DB.Commits()
	if err := inv.RescanMachine("default", "lin", "test"); err != nil {
		t.Fatal(err)
	}
	if c := inv.DB.Commits() - commits; c != 0 {
		after, _, _ := inv.DB.Machine("default", "lin")
		t.Errorf("a rescan after Relink changed the record:\n relinked %+v\n rescanned %+v", before, after)
	}
	return before
}
