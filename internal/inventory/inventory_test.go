package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// newInventory makes a plain-directory machines root with machine "lin"
// (revision 1, its link, and image gcc from revision 1).
func newInventory(t *testing.T) (*Inventory, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "default", "lin")
	drv := btrfs.NewPlain()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(dir, 0o755))
	must(drv.Create(filepath.Join(dir, "lin-1")))
	must(drv.SetReadOnly(filepath.Join(dir, "lin-1"), true))
	must(os.Symlink("lin-1", filepath.Join(dir, "lin")))
	must(drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, "lin-gcc"), true))
	d, err := db.Open(filepath.Join(t.TempDir(), "b.db"), db.Options{})
	must(err)
	t.Cleanup(func() { d.Close() })
	inv, err := New(root, d, "plain")
	must(err)
	must(inv.RescanAll("test"))
	return inv, dir
}

func kinds(t *testing.T, d *db.DB, after uint64) []string {
	t.Helper()
	es, err := d.Events(after, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Kind+": "+e.Message)
	}
	return ks
}

func lastSeq(t *testing.T, d *db.DB) uint64 {
	es, err := d.LastEvents(1)
	if err != nil || len(es) == 0 {
		t.Fatalf("no events: %v", err)
	}
	return es[0].Seq
}

func TestRescanRecordsChangesOnly(t *testing.T) {
	inv, dir := newInventory(t)
	if got := strings.Join(kinds(t, inv.DB, 0), "\n"); !strings.Contains(got, "machine-appeared: machine default/lin appeared (active)") {
		t.Fatalf("first scan events:\n%s", got)
	}
	m, _, _ := inv.DB.Machine("default", "lin")
	seq := lastSeq(t, inv.DB)

	// Nothing changed: no event, and the stored record is untouched.
	if err := inv.RescanMachine("default", "lin", "test"); err != nil {
		t.Fatal(err)
	}
	if ks := kinds(t, inv.DB, seq); len(ks) != 0 {
		t.Fatalf("rescan of an unchanged machine logged %q", ks)
	}
	if again, _, _ := inv.DB.Machine("default", "lin"); !again.Scanned.Equal(m.Scanned) {
		t.Fatal("rescan of an unchanged machine rewrote its record")
	}

	// The manual's upgrade: the link switches, the image turns stale.
	drv := btrfs.NewPlain()
	if err := drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, "lin-2"), true); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lin-2", filepath.Join(dir, "new-lin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "new-lin"), filepath.Join(dir, "lin")); err != nil {
		t.Fatal(err)
	}
	if err := inv.RescanMachine("default", "lin", "test"); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(kinds(t, inv.DB, seq), "\n")
	for _, want := range []string{"link-switched: link switched from revision 1 to 2", "revision-added: revision 2", "image-stale: image gcc became stale"} {
		if !strings.Contains(got, want) {
			t.Errorf("upgrade events lack %q:\n%s", want, got)
		}
	}
}

func TestStrayFloodIsSummarised(t *testing.T) {
	inv, dir := newInventory(t)
	seq := lastSeq(t, inv.DB)
	for i := 0; i < 50; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("junk%02d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := inv.RescanMachine("default", "lin", "test"); err != nil {
		t.Fatal(err)
	}
	ks := kinds(t, inv.DB, seq)
	if len(ks) != maxStrayEvents+1 || !strings.Contains(ks[maxStrayEvents], "and 40 more strays") {
		t.Fatalf("50 new strays logged as %d events:\n%s", len(ks), strings.Join(ks, "\n"))
	}
	m, _, _ := inv.DB.Machine("default", "lin")
	if len(m.Strays) != 50 {
		t.Fatalf("record holds %d strays, want all 50", len(m.Strays))
	}
}

func TestMachineGone(t *testing.T) {
	inv, dir := newInventory(t)
	drv := btrfs.NewPlain()
	for _, e := range []string{"lin-gcc", "lin-1"} {
		if err := drv.Delete(context.Background(), filepath.Join(dir, e)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "lin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := inv.RescanAll("test"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := inv.DB.Machine("default", "lin"); ok {
		t.Fatal("record of a removed machine directory remains")
	}
	ks := kinds(t, inv.DB, 0)
	if !strings.Contains(ks[len(ks)-1], "machine-gone") {
		t.Fatalf("last event %q, want machine-gone", ks[len(ks)-1])
	}
}
