// Package inventory keeps the database's machine records equal to what the
// machines root holds: it scans machine directories with fsscan, through
// each volume's storage driver, and stores the result with an event for
// every change worth telling an operator.
package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/bmsched/bmsched/internal/broadcast"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/keyedlock"
)

// Inventory is the machines root and the database that mirrors it.
type Inventory struct {
	Root  string
	DB    *db.DB
	force string // driver forced by the operator, "" for auto

	mu      sync.Mutex
	drivers map[string]btrfs.Driver // by volume name
	strays  []db.Stray              // root and volume entries that are not machines
	// scanMu serialises scans of one machine directory, so that two
	// rescans racing on the same directory cannot store an older view
	// over a newer one.
	scanMu keyedlock.Set[string]

	changed broadcast.Signal // notified after every stored rescan

	// vols is what is known of each volume's filesystem (volumes.go),
	// under mu; volMu serialises the probes that change it.
	vols  map[string]db.Volume
	volMu sync.Mutex
	// OnVolume, if set, is told of each volume whose filesystem came,
	// went or was replaced, once the change is stored.
	OnVolume func(VolumeChange)
	// OnRescan, if set, is told of each full rescan once it is done: its
	// source, how long it took and what went wrong, for the daemon's
	// status and metrics.
	OnRescan func(source string, took time.Duration, err error)
}

// New returns an inventory of root. driver is "", "auto", "btrfs" or "plain".
func New(root string, d *db.DB, driver string) (*Inventory, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("machines root: %w (create it, or pass --machines DIR)", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("machines root %s is not a directory", root)
	}
	switch driver {
	case "auto":
		driver = ""
	case "", "btrfs", "plain":
	default:
		return nil, fmt.Errorf("unknown storage driver %q: use auto, btrfs or plain", driver)
	}
	inv := &Inventory{Root: root, DB: d, force: driver, drivers: map[string]btrfs.Driver{}, vols: map[string]db.Volume{}}
	if err := inv.loadVolumes(); err != nil {
		return nil, err
	}
	return inv, nil
}

// Changed returns a channel closed at the next stored rescan of any
// machine: how a delete learns that a snapshot disappeared without polling.
func (inv *Inventory) Changed() <-chan struct{} { return inv.changed.Wait() }

// Driver returns the storage driver of a volume, choosing it on first use.
func (inv *Inventory) Driver(volume string) (btrfs.Driver, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if d, ok := inv.drivers[volume]; ok {
		return d, nil
	}
	d, err := btrfs.ForPath(filepath.Join(inv.Root, volume), inv.force)
	if err != nil {
		return nil, err
	}
	inv.drivers[volume] = d
	return d, nil
}

// MachineDir is the directory of a machine.
func (inv *Inventory) MachineDir(volume, name string) string {
	return filepath.Join(inv.Root, volume, name)
}

// Strays returns the entries of the root and of volumes that are not
// machine directories, as of the last full scan.
func (inv *Inventory) Strays() []db.Stray {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return append([]db.Stray(nil), inv.strays...)
}

// Volumes lists the volume directories of the root.
func (inv *Inventory) Volumes() ([]string, []db.Stray, error) {
	ents, err := os.ReadDir(inv.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("read machines root: %w", err)
	}
	var vols []string
	var strays []db.Stray
	for _, e := range ents {
		switch {
		case fsscan.IsTempName(e.Name()):
			// bmsched's own: the root lock, never a stray.
		case fsscan.ValidVolumeName(e.Name()) != nil:
			strays = append(strays, db.Stray{Name: e.Name(), Reason: "not a valid volume name"})
		case !e.IsDir():
			strays = append(strays, db.Stray{Name: e.Name(), Reason: "not a directory"})
		default:
			vols = append(vols, e.Name())
		}
	}
	return vols, strays, nil
}

// RescanAll scans every volume and machine directory and makes the
// database agree: new and changed machines are stored, machines no longer
// on disk are dropped.
func (inv *Inventory) RescanAll(source string) (err error) {
	if inv.OnRescan != nil {
		start := time.Now()
		defer func() { inv.OnRescan(source, time.Since(start), err) }()
	}
	var errs []error
	if err := inv.CheckVolumes(); err != nil {
		errs = append(errs, err)
	}
	vols, strays, err := inv.Volumes()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, vol := range vols {
		if !inv.Available(vol) {
			continue // what is there now is not the filesystem bmsched knows
		}
		dir := filepath.Join(inv.Root, vol)
		ents, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("read volume: %w", err))
			continue
		}
		for _, e := range ents {
			name := e.Name()
			switch {
			case fsscan.IsTempName(name):
				continue // bmsched's own
			case fsscan.ValidMachineName(name) != nil:
				strays = append(strays, db.Stray{Name: vol + "/" + name, Reason: "not a valid machine name"})
				continue
			case !e.IsDir():
				strays = append(strays, db.Stray{Name: vol + "/" + name, Reason: "not a directory"})
				continue
			}
			seen[vol+"/"+name] = true
			if err := inv.RescanMachine(vol, name, source); err != nil {
				errs = append(errs, err)
			}
		}
	}
	sort.Slice(strays, func(i, j int) bool { return strays[i].Name < strays[j].Name })
	inv.mu.Lock()
	inv.strays = strays
	inv.mu.Unlock()

	known, err := inv.DB.Machines()
	if err != nil {
		return err
	}
	for _, m := range known {
		if !seen[m.Key()] && inv.Available(m.Volume) {
			if err := inv.RescanMachine(m.Volume, m.Name, source); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// RescanMachine scans one machine directory and stores what it finds; a
// directory that is gone drops the record.
func (inv *Inventory) RescanMachine(volume, name, source string) error {
	// A directory missing from a volume whose filesystem went away is not
	// a machine deleted: look at the volume first.
	if ok, err := inv.CheckVolume(volume); !ok || err != nil {
		return err
	}
	unlock := inv.scanMu.Lock(volume + "/" + name)
	defer unlock()

	dir := inv.MachineDir(volume, name)
	var scanned *fsscan.Machine
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("scan machine: %w", err)
	case !fi.IsDir():
	default:
		drv, err := inv.Driver(volume)
		if err != nil {
			return err
		}
		m, err := fsscan.ScanMachine(dir, drv)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		scanned = &m
	}
	// Look again: an unmount during the scan shows as entries gone.
	if ok, err := inv.CheckVolume(volume); !ok || err != nil {
		return err
	}
	now := time.Now().UTC()
	build := func(old *db.Machine) *db.Machine {
		if scanned == nil {
			return nil
		}
		next := record(volume, dir, scanned, now)
		if old != nil {
			next.Deleting = old.Deleting
			// A machine whose link was taken away stays retiring, not
			// "being added", once its last snapshot is gone: until it
			// has a link again.
			if next.State == string(fsscan.Pending) && (old.State == string(fsscan.Retiring) || old.State == string(fsscan.Deleting)) {
				next.State = string(fsscan.Retiring)
			}
		}
		if next.Deleting {
			next.State = string(fsscan.Deleting)
		}
		return next
	}
	// Most rescans find nothing new (a build's snapshot came and went):
	// those cost a read, not a commit.
	old, ok, err := inv.DB.Machine(volume, name)
	if err != nil {
		return err
	}
	if ok && sameRecord(&old, build(&old)) || !ok && scanned == nil {
		return nil
	}
	defer inv.changed.Notify()
	return inv.DB.UpdateMachine(volume, name, func(old *db.Machine) (*db.Machine, []db.Event, error) {
		if !inv.Available(volume) {
			// The volume went while this scan ran: the scan is of what
			// its unmount uncovered, and markUnavailable has the say.
			return old, nil, nil
		}
		next := build(old)
		return next, diff(source, old, next), nil
	})
}

// sameRecord reports whether two records differ in nothing but the time
// of their scan.
func sameRecord(a, b *db.Machine) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.Scanned, y.Scanned = time.Time{}, time.Time{}
	xj, err1 := json.Marshal(x)
	yj, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && bytes.Equal(xj, yj)
}
