package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bmsched/bmsched/internal/db"
)

// A full rescan stores its machines a batch to a commit, not one each;
// the walk's strays carry their reasons; machines gone from disk go from
// the database, in batches too.
func TestRescanAllStoresInBatches(t *testing.T) {
	inv, _ := newInventory(t)
	const n = storeBatch + 44
	for i := range n {
		if err := os.Mkdir(filepath.Join(inv.Root, "default", fmt.Sprintf("m%03d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(inv.Root, "default", "NOTES"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	before := inv.DB.Commits()
	if err := inv.RescanAll("test"); err != nil {
		t.Fatal(err)
	}
	if c := inv.DB.Commits() - before; c != 2 {
		t.Errorf("%d new machines took %d commits, want 2 (batches of %d)", n, c, storeBatch)
	}
	ms, err := inv.DB.Machines()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != n+1 {
		t.Errorf("%d machine records, want %d", len(ms), n+1)
	}
	want := []db.Stray{{Name: "default/NOTES", Reason: "a regular file, not a machine directory"}}
	if got := inv.Strays(); !slices.Equal(got, want) {
		t.Errorf("strays %+v, want %+v", got, want)
	}

	// Nothing changed: reads, no commit.
	before = inv.DB.Commits()
	if err := inv.RescanAll("test"); err != nil {
		t.Fatal(err)
	}
	if c := inv.DB.Commits() - before; c != 0 {
		t.Errorf("a rescan that found nothing new made %d commits", c)
	}

	for i := range n {
		if err := os.Remove(filepath.Join(inv.Root, "default", fmt.Sprintf("m%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	before = inv.DB.Commits()
	if err := inv.RescanAll("test"); err != nil {
		t.Fatal(err)
	}
	if c := inv.DB.Commits() - before; c != 2 {
		t.Errorf("%d machines gone took %d commits, want 2", n, c)
	}
	if ms, _ := inv.DB.Machines(); len(ms) != 1 || ms[0].Name != "lin" {
		t.Errorf("after the machines went: %d records", len(ms))
	}
}
