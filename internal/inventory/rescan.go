package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// storeBatch is how many machines a full rescan stores in one commit: a
// cold start on a farm of a thousand machines pays a few commits, not a
// thousand, while one commit never holds the write lock for long.
const storeBatch = 256

// RescanAll scans every volume and machine directory and makes the
// database agree: new and changed machines are stored, machines no longer
// on disk are dropped, a batch of machines to a commit.
func (inv *Inventory) RescanAll(source string) (err error) {
	if inv.OnRescan != nil {
		start := time.Now()
		defer func() { inv.OnRescan(source, time.Since(start), err) }()
	}
	errs := []error{inv.CheckVolumes()}
	r, err := fsscan.ReadRoot(inv.Root)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	found := strays("", r.Strays)
	seen := map[string][]string{} // machine names by volume
	for _, vol := range r.Dirs {
		if !inv.Available(vol) {
			continue // what is there now is not the filesystem bmsched knows
		}
		v, err := fsscan.ReadVolume(filepath.Join(inv.Root, vol))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		found = append(found, strays(vol+"/", v.Strays)...)
		seen[vol] = v.Dirs
		errs = append(errs, inv.rescanBatches(vol, v.Dirs, source))
	}
	slices.SortFunc(found, func(a, b db.Stray) int { return strings.Compare(a.Name, b.Name) })
	inv.mu.Lock()
	inv.strays = found
	inv.mu.Unlock()
	errs = append(errs, inv.rescanGone(seen, source))
	return errors.Join(errs...)
}

// rescanGone rescans the machines the database knows on available
// volumes that the walk did not find, so that their records go.
func (inv *Inventory) rescanGone(seen map[string][]string, source string) error {
	known, err := inv.DB.Machines()
	if err != nil {
		return err
	}
	gone := map[string][]string{}
	for _, m := range known {
		// seen's names are sorted, as fsscan.ReadVolume returns them.
		if _, found := slices.BinarySearch(seen[m.Volume], m.Name); !found && inv.Available(m.Volume) {
			gone[m.Volume] = append(gone[m.Volume], m.Name)
		}
	}
	var errs []error
	for vol, names := range gone {
		slices.Sort(names) // the lock order (rescanMany)
		errs = append(errs, inv.rescanBatches(vol, names, source))
	}
	return errors.Join(errs...)
}

// rescanBatches rescans the machines names of volume, storeBatch at a time.
func (inv *Inventory) rescanBatches(volume string, names []string, source string) error {
	var errs []error
	for batch := range slices.Chunk(names, storeBatch) {
		errs = append(errs, inv.rescanMany(volume, batch, source))
	}
	return errors.Join(errs...)
}

// RescanMachine scans one machine directory and stores what it finds; a
// directory that is gone drops the record.
func (inv *Inventory) RescanMachine(volume, name, source string) error {
	return inv.rescanMany(volume, []string{name}, source)
}

// rescanMany scans machine directories of one volume, names sorted, and
// stores what changed in one commit. Each directory's lock is held from
// its scan to the commit, so that a rescan racing this one can never
// store its newer view under this older one; the locks are taken in the
// order of names, so two batches cannot deadlock.
func (inv *Inventory) rescanMany(volume string, names []string, source string) error {
	// A directory missing from a volume whose filesystem went away is not
	// a machine deleted: look at the volume first.
	if ok, err := inv.CheckVolume(volume); !ok || err != nil {
		return err
	}
	var errs []error
	scans := make([]scan, 0, len(names))
	for _, name := range names {
		unlock := inv.scanMu.Lock(volume + "/" + name)
		defer unlock()
		sc, err := inv.scanDir(volume, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		scans = append(scans, sc)
	}
	// Look again: an unmount during the scan shows as entries gone.
	if ok, err := inv.CheckVolume(volume); !ok || err != nil {
		return errors.Join(append(errs, err)...)
	}
	return errors.Join(append(errs, inv.store(source, scans))...)
}

// scan is what one machine directory held when it was read.
type scan struct {
	volume, name, dir string
	m                 *fsscan.Machine // nil when the directory is gone
}

// scanDir reads and classifies a machine directory. A directory gone, or
// that is no directory any more, is a scan with no machine.
func (inv *Inventory) scanDir(volume, name string) (scan, error) {
	sc := scan{volume: volume, name: name, dir: inv.MachineDir(volume, name)}
	fi, err := os.Lstat(sc.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sc, nil
	case err != nil:
		return sc, fmt.Errorf("scan machine: %w", err)
	case !fi.IsDir():
		return sc, nil
	}
	drv, err := inv.Driver(volume)
	if err != nil {
		return sc, err
	}
	m, err := fsscan.ScanMachine(sc.dir, drv)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sc, nil
	case err != nil:
		return sc, err
	}
	sc.m = &m
	return sc, nil
}
