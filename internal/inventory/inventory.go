// Package inventory keeps the database's machine records equal to what the
// machines root holds: it scans machine directories with fsscan, through
// each volume's storage driver, and stores the result with an event for
// every change worth telling an operator.
package inventory

import (
	"fmt"
	"os"
	"path/filepath"
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

// Volumes lists the volume directories of the root, and the root's
// strays (fsscan.ReadRoot: bmsched's own temporaries are neither).
func (inv *Inventory) Volumes() ([]string, []db.Stray, error) {
	r, err := fsscan.ReadRoot(inv.Root)
	if err != nil {
		return nil, nil, err
	}
	return r.Dirs, strays("", r.Strays), nil
}

// strays converts the strays of the root (prefix "") or of a volume
// (prefix "VOLUME/") to their records.
func strays(prefix string, ss []fsscan.Stray) []db.Stray {
	out := make([]db.Stray, 0, len(ss))
	for _, s := range ss {
		out = append(out, db.Stray{Name: prefix + s.Name, Reason: s.Reason})
	}
	return out
}
