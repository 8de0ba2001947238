package lease

import (
	"path/filepath"
	"testing"

	"github.com/bmsched/bmsched/internal/db"
)

// fakeMark is a root id mark in memory that, like rootlock.IDs, moves a
// block of 1024 past the id it must cover.
type fakeMark struct {
	reserved uint64
	writes   int
}

func (m *fakeMark) Reserved() uint64           { return m.reserved }
func (m *fakeMark) Token() string              { return "" }
func (m *fakeMark) Stamp(string, uint64) error { return nil }
func (m *fakeMark) Cover(id uint64) error {
	if id > m.reserved {
		m.reserved = id + 1024
		m.writes++
	}
	return nil
}

func openDB(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "b.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestNextID: ids come from a block that one commit and one write of the
// root's mark reserve, both up to the same mark; a restart goes on above
// what was handed out, within the block.
func TestNextID(t *testing.T) {
	d := openDB(t)
	mark := &fakeMark{}
	s := &Scheduler{db: d, cfg: Config{IDs: mark}}
	before := d.Commits()
	for want := uint64(1); want <= 1025; want++ {
		id, err := s.nextID()
		if err != nil || id != want {
			t.Fatalf("id %d, %v; want %d", id, err, want)
		}
	}
	if got := d.Commits() - before; got != 1 {
		t.Fatalf("1025 ids cost %d commits, want 1", got)
	}
	if _, reserved, _ := d.LeaseIDs(); reserved != 1025 || mark.reserved != 1025 || mark.writes != 1 {
		t.Fatalf("database reserved %d, root mark %d after %d writes; want both 1025 after 1", reserved, mark.reserved, mark.writes)
	}
	if id, err := s.nextID(); err != nil || id != 1026 || mark.writes != 2 {
		t.Fatalf("past the block: id %d, %v, %d writes of the mark; want 1026 after a second", id, err, mark.writes)
	}

	// A restart: ids handed out up to 7 (records, ends, names on disk).
	s2 := &Scheduler{db: d, cfg: Config{IDs: mark}}
	_, reserved, _ := d.LeaseIDs()
	s2.resumeIDs(7, reserved)
	before = d.Commits()
	if id, err := s2.nextID(); err != nil || id != 8 || d.Commits() != before {
		t.Fatalf("after a restart: id %d, %v, %d commits; want 8 from the block, no commit", id, err, d.Commits()-before)
	}
}
