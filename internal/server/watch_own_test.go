package server

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/db"
)

// ownChanges skips the rescan only for what the daemon's own acquires and
// releases do, naming what the record shows of it that is gone, and for
// links, which are read by name; a lease's snapshot gone while its lease
// is there, a snapshot made by hand, and every other kind of entry still
// cost a rescan.
func TestOwnChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lin")
	d, err := db.Open(filepath.Join(t.TempDir(), "bmsched.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := &Server{db: d}
	rec := &db.Machine{Volume: "default", Name: "lin", Dir: dir, State: "active", Current: 1,
		Temps: []string{".bmsched-del-9"}, Snapshots: []db.Snapshot{{Name: "lin-gcc-001", Toolchain: "gcc", ID: "001"}}}
	if err := d.UpdateMachine("default", "lin", func(*db.Machine) (*db.Machine, []db.Event, error) { return rec, nil, nil }); err != nil {
		t.Fatal(err)
	}
	// Leases 1 to 4, by snapshot: 002 on disk and active, 003 gone and
	// releasing (its delete failed, then it went by hand), 004 gone but
	// active (deleted by hand), 005 on disk and held. 006 is on disk with
	// no lease (made by hand); 009 is gone with its lease (released).
	for _, state := range []string{db.LeaseActive, db.LeaseReleasing, db.LeaseActive, db.LeaseHeld} {
		_, err := d.CreateLease(func(id uint64) db.Lease {
			snap := fmt.Sprintf("lin-gcc-%03d", id+1)
			return db.Lease{Volume: "default", Machine: "lin", Toolchain: "gcc", Snapshot: snap,
				Path: filepath.Join(dir, snap), State: state, Created: time.Now().UTC()}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"lin-gcc-002", "lin-gcc-005", "lin-gcc-006"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		changed []string
		own     bool
		forget  []string
		links   bool
	}{
		{nil, false, nil, false},
		{[]string{".bmsched-lease-7"}, true, nil, false},
		{[]string{".bmsched-del-9"}, true, []string{".bmsched-del-9"}, false},
		{[]string{"lin-gcc-002"}, true, nil, false},
		{[]string{"lin-gcc-003"}, false, nil, false},
		{[]string{"lin-gcc-009"}, true, nil, false},
		{[]string{"lin-gcc-004"}, false, nil, false},
		{[]string{"lin-gcc-005"}, true, nil, false},
		{[]string{"lin-gcc-001"}, true, []string{"lin-gcc-001"}, false},
		{[]string{"lin-gcc-006"}, false, nil, false},
		{[]string{"lin"}, true, nil, true},
		{[]string{"new-lin"}, true, nil, true},
		{[]string{"lin-2"}, false, nil, false},
		{[]string{"lin-gcc"}, false, nil, false},
		{[]string{"notes.txt"}, false, nil, false},
		{[]string{".bmsched-lease-7", "lin-gcc-002", "lin-gcc-009", "lin-gcc-001"}, true, []string{"lin-gcc-001"}, false},
		{[]string{".bmsched-lease-7", "lin-gcc-002", "new-lin", "lin"}, true, nil, true},
		{[]string{"lin", "lin-2"}, false, nil, false},
	} {
		own, forget, links := s.ownChanges("default", "lin", tc.changed)
		if own != tc.own || !slices.Equal(forget, tc.forget) || own && links != tc.links {
			t.Errorf("ownChanges(%q) = %t, %q, links %t; want %t, %q, links %t", tc.changed, own, forget, links, tc.own, tc.forget, tc.links)
		}
	}
	if own, _, _ := s.ownChanges("default", "other", []string{".bmsched-lease-7"}); own {
		t.Error("a machine with no record: its changes taken for the daemon's own")
	}
}
