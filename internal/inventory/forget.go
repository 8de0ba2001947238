package inventory

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/bmsched/bmsched/internal/db"
)

// Forget drops from a machine's record the snapshots and temporaries
// among entries that are gone from its directory: what a rescan would
// conclude of them, without reading the directory or probing a
// subvolume. The daemon calls it for what its own releases and
// temporaries removed, which a scan had caught in passing. It holds the
// machine's scan lock, so that a rescan that read the directory before
// they went cannot store them again after.
func (inv *Inventory) Forget(volume, name string, entries []string) error {
	if len(entries) == 0 || !inv.Available(volume) {
		return nil // nothing to drop, or markUnavailable has the say
	}
	unlock := inv.scanMu.Lock(volume + "/" + name)
	defer unlock()
	old, ok, err := inv.DB.Machine(volume, name)
	if err != nil || !ok {
		return err
	}
	var gone []string
	for _, e := range entries {
		_, err := os.Lstat(filepath.Join(old.Dir, e))
		if errors.Is(err, fs.ErrNotExist) {
			gone = append(gone, e)
		}
	}
	if next := without(old, gone); len(next.Snapshots) == len(old.Snapshots) && len(next.Temps) == len(old.Temps) {
		return nil
	}
	defer inv.changed.Notify()
	return inv.DB.UpdateMachine(volume, name, func(cur *db.Machine) (*db.Machine, []db.Event, error) {
		if cur == nil || !inv.Available(volume) {
			return cur, nil, nil
		}
		next := without(*cur, gone)
		return &next, nil, nil
	})
}

// without is m less the snapshots and temporaries named in gone.
func without(m db.Machine, gone []string) db.Machine {
	m.Snapshots = slices.DeleteFunc(slices.Clone(m.Snapshots), func(s db.Snapshot) bool { return slices.Contains(gone, s.Name) })
	m.Temps = slices.DeleteFunc(slices.Clone(m.Temps), func(t string) bool { return slices.Contains(gone, t) })
	return m
}
