package inventory

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// store makes the records of scans agree with them, in one commit, with
// an event for each change worth telling. Most rescans find nothing new
// (a build's snapshot came and went): those cost a read, not a commit.
func (inv *Inventory) store(source string, scans []scan) error {
	if len(scans) == 0 {
		return nil
	}
	now := time.Now().UTC()
	keys := make([]db.MachineKey, len(scans))
	for i, sc := range scans {
		keys[i] = db.MachineKey{Volume: sc.volume, Name: sc.name}
	}
	olds, err := inv.DB.MachinesAt(keys)
	if err != nil {
		return err
	}
	changed := scans[:0:0]
	keys = keys[:0]
	for i, sc := range scans {
		if old := olds[i]; old != nil && sameRecord(old, sc.next(old, now)) || old == nil && sc.m == nil {
			continue
		}
		changed = append(changed, sc)
		keys = append(keys, db.MachineKey{Volume: sc.volume, Name: sc.name})
	}
	if len(changed) == 0 {
		return nil
	}
	defer inv.changed.Notify()
	return inv.DB.UpdateMachines(keys, func(i int, old *db.Machine) (*db.Machine, []db.Event, error) {
		sc := changed[i]
		if !inv.Available(sc.volume) {
			// The volume went while this scan ran: the scan is of what
			// its unmount uncovered, and markUnavailable has the say.
			return old, nil, nil
		}
		next := sc.next(old, now)
		return next, diff(source, old, next), nil
	})
}

// next is the record that the scan makes of old, the record before it
// (nil for none): nil when the directory is gone.
func (sc scan) next(old *db.Machine, now time.Time) *db.Machine {
	if sc.m == nil {
		return nil
	}
	next := record(sc.volume, sc.dir, sc.m, now)
	if old != nil {
		next.Deleting = old.Deleting
		// A machine whose link was taken away stays retiring, not
		// "being added", once its last snapshot is gone: until it has a
		// link again.
		if next.State == string(fsscan.Pending) && (old.State == string(fsscan.Retiring) || old.State == string(fsscan.Deleting)) {
			next.State = string(fsscan.Retiring)
		}
	}
	if next.Deleting {
		next.State = string(fsscan.Deleting)
	}
	return next
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
