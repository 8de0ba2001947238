package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/volume"
)

// VolumeChange is a volume whose filesystem came, went or was replaced,
// as the inventory tells its owner (Config.OnVolume) once it has stored
// the change.
type VolumeChange struct {
	Volume string
	Change volume.Change
	// Back is true for a volume available again with the filesystem it
	// had: its leases resume.
	Back bool
	// First is true for a volume seen for the first time: nothing was
	// known of it to lose, but its directory may have become a mount
	// since it was watched.
	First bool
}

// loadVolumes reads what the database knows of the volumes.
func (inv *Inventory) loadVolumes() error {
	vs, err := inv.DB.Volumes()
	if err != nil {
		return err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, v := range vs {
		inv.vols[v.Name] = v
	}
	return nil
}

// Available reports whether a volume's filesystem is the one bmsched
// knows; a volume never seen counts as available.
func (inv *Inventory) Available(name string) bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	v, ok := inv.vols[name]
	return !ok || v.State != db.VolumeUnavailable
}

// Volume returns what is known of a volume.
func (inv *Inventory) Volume(name string) (db.Volume, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	v, ok := inv.vols[name]
	return v, ok
}

// UnavailableError is the refusal of anything asked of a machine on an
// unavailable volume.
func (inv *Inventory) UnavailableError(name string) error {
	v, _ := inv.Volume(name)
	what := "its filesystem"
	if v.FS != "" {
		what = fmt.Sprintf("its filesystem (%s %s)", v.Type, v.FS)
	}
	return fmt.Errorf("volume %s is unavailable: %s is not mounted on %s since %s; mount it again and bmsched resumes by itself (nothing on it was ended or deleted)",
		name, what, filepath.Join(inv.Root, name), v.Since.Local().Format(time.DateTime))
}

// CheckVolumes probes every volume directory and every volume known, and
// stores what changed.
func (inv *Inventory) CheckVolumes() error {
	names, _, err := inv.Volumes()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	inv.mu.Lock()
	for n := range inv.vols {
		seen[n] = true
	}
	inv.mu.Unlock()
	var errs []error
	for n := range seen {
		if _, err := inv.CheckVolume(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckVolume probes one volume and stores a change of its filesystem. It
// reports whether the volume is available now.
func (inv *Inventory) CheckVolume(name string) (available bool, err error) {
	inv.volMu.Lock()
	available, change, err := inv.checkVolume(name)
	inv.volMu.Unlock()
	if change != nil && inv.OnVolume != nil {
		inv.OnVolume(*change)
	}
	return available, err
}

// checkVolume is CheckVolume, under volMu; it returns the change to tell.
func (inv *Inventory) checkVolume(name string) (available bool, change *VolumeChange, err error) {
	now, err := volume.Probe(filepath.Join(inv.Root, name))
	if err != nil {
		return inv.Available(name), nil, fmt.Errorf("check volume %s: %w", name, err)
	}
	known, ok := inv.Volume(name)
	if !ok {
		return inv.firstSight(name, now)
	}
	was := volume.Identity{FS: known.FS, Type: known.Type, Mount: known.Mount}
	c := volume.Compare(was, now)
	if known.Mount && known.FS == "" {
		// Never seen mounted: the first filesystem mounted is its own;
		// its directory removed means the volume is gone.
		switch {
		case now.Mount:
			c = volume.Same
		case now == (volume.Identity{}):
			return true, nil, inv.forgetVolume(name)
		}
	}
	wasDown := known.State == db.VolumeUnavailable
	switch {
	case c == volume.Same && !wasDown && now == (volume.Identity{}):
		// A plain directory of the root's filesystem, removed: forget it
		// (its machines go with the rescan, as they always did).
		return true, nil, inv.forgetVolume(name)
	case c == volume.Same && !wasDown:
		if known.Type != now.Type && now != (volume.Identity{}) {
			// The same mount, but the directory's type changed: keep it
			// up to date for the driver's sake.
			return true, nil, inv.putVolume(name, now, "", "")
		}
		return true, nil, nil
	case c == volume.Unavailable && wasDown:
		return false, nil, nil
	case c == volume.Unavailable:
		return inv.wentAway(name, known, c)
	}
	return inv.cameBack(name, known, now, c)
}

// firstSight stores a volume never seen before. One whose directory holds
// none of the machines the database knows on it, and is no mount, is
// taken for unmounted (machinesMissing).
func (inv *Inventory) firstSight(name string, now volume.Identity) (bool, *VolumeChange, error) {
	if now == (volume.Identity{}) {
		return true, nil, nil // not there, never was
	}
	if missing, err := inv.machinesMissing(name, now); err != nil || missing > 0 {
		return false, nil, errors.Join(err, inv.firstSightUnmounted(name, missing))
	}
	return true, &VolumeChange{Volume: name, Change: volume.Same, First: true}, inv.putVolume(name, now, "", "")
}

// wentAway records a volume whose filesystem is no longer mounted, and
// sets its machines unavailable.
func (inv *Inventory) wentAway(name string, known db.Volume, c volume.Change) (bool, *VolumeChange, error) {
	// Keep the identity of the filesystem that went away: it is the one
	// to wait for.
	known.State, known.Since = db.VolumeUnavailable, time.Now().UTC()
	ev := inv.volumeEvent(name, "volume-unavailable", fmt.Sprintf("volume %s is unavailable: its filesystem (%s %s) is no longer mounted on %s; its machines and leases are kept as they are until it is back",
		name, known.Type, known.FS, filepath.Join(inv.Root, name)))
	if err := inv.DB.PutVolume(known, ev); err != nil {
		return true, nil, err
	}
	inv.setVolume(known)
	return false, &VolumeChange{Volume: name, Change: c}, inv.markUnavailable(name)
}

// cameBack records a volume whose filesystem is back, or replaced by
// another one.
func (inv *Inventory) cameBack(name string, known db.Volume, now volume.Identity, c volume.Change) (bool, *VolumeChange, error) {
	back := c == volume.Same
	msg := fmt.Sprintf("volume %s is available again: the same filesystem (%s %s) is mounted on %s", name, now.Type, now.FS, filepath.Join(inv.Root, name))
	kind := "volume-available"
	if !back {
		kind = "volume-replaced"
		msg = fmt.Sprintf("volume %s: another filesystem (%s %s, was %s %s) is on %s now; it is scanned afresh, and the leases of the one before end",
			name, now.Type, now.FS, known.Type, known.FS, filepath.Join(inv.Root, name))
		if c == volume.Appeared {
			kind = "volume-mounted"
			msg = fmt.Sprintf("volume %s: a filesystem (%s %s) was mounted on %s; it is scanned afresh", name, now.Type, now.FS, filepath.Join(inv.Root, name))
		}
	}
	if err := inv.putVolume(name, now, kind, msg); err != nil {
		return inv.Available(name), nil, err
	}
	return true, &VolumeChange{Volume: name, Change: c, Back: back}, nil
}

// putVolume stores a volume as available with the identity id, with an
// event of kind (none for ""), and forgets its driver, which is chosen
// again for the filesystem there now.
func (inv *Inventory) putVolume(name string, id volume.Identity, kind, msg string) error {
	v := db.Volume{Name: name, State: db.VolumeAvailable, FS: id.FS, Type: id.Type, Mount: id.Mount, Since: time.Now().UTC()}
	var evs []db.Event
	if kind != "" {
		evs = append(evs, inv.volumeEvent(name, kind, msg))
	}
	if err := inv.DB.PutVolume(v, evs...); err != nil {
		return err
	}
	inv.setVolume(v)
	return nil
}

func (inv *Inventory) setVolume(v db.Volume) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.vols[v.Name] = v
	delete(inv.drivers, v.Name)
}

func (inv *Inventory) volumeEvent(name, kind, msg string) db.Event {
	return db.Event{Source: "volume", Kind: kind, Volume: name, Message: msg}
}

// markUnavailable sets every machine record of a volume unavailable,
// keeping everything else it holds.
func (inv *Inventory) markUnavailable(volume string) error {
	ms, err := inv.DB.Machines()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Volume != volume {
			continue
		}
		err := inv.DB.UpdateMachine(m.Volume, m.Name, func(old *db.Machine) (*db.Machine, []db.Event, error) {
			if old == nil {
				return nil, nil, nil
			}
			next := *old
			next.State = string(fsscan.Unavailable)
			return &next, nil, nil
		})
		if err != nil {
			return err
		}
	}
	inv.changed.Notify()
	return nil
}

// machinesMissing counts, for a volume seen for the first time as a plain
// directory, the machines the database knows on it when none of them is
// there: the volume's filesystem was not mounted when bmsched first looked
// (the first start after an upgrade, or a rebuilt database), and its
// directory shows what the mount covers.
func (inv *Inventory) machinesMissing(name string, now volume.Identity) (int, error) {
	if now.Mount {
		return 0, nil
	}
	ms, err := inv.DB.Machines()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if m.Volume != name {
			continue
		}
		if _, err := os.Lstat(filepath.Join(inv.Root, name, m.Name)); err == nil {
			return 0, nil
		}
		n++
	}
	return n, nil
}

// firstSightUnmounted records a volume as unavailable, its filesystem not
// known yet: the first filesystem mounted there is taken for it.
func (inv *Inventory) firstSightUnmounted(name string, missing int) error {
	v := db.Volume{Name: name, State: db.VolumeUnavailable, Mount: true, Since: time.Now().UTC()}
	ev := inv.volumeEvent(name, "volume-unavailable", fmt.Sprintf("volume %s: bmsched knows %d machines on it, but %s holds none of them and is not a mount: its filesystem is taken for unmounted, and nothing on it is ended or deleted; mount it (or, if the volume is gone for good, remove the empty directory)",
		name, missing, filepath.Join(inv.Root, name)))
	if err := inv.DB.PutVolume(v, ev); err != nil {
		return err
	}
	inv.setVolume(v)
	return inv.markUnavailable(name)
}

// forgetVolume drops what is known of a volume whose directory is gone.
func (inv *Inventory) forgetVolume(name string) error {
	if err := inv.DB.DeleteVolume(name); err != nil {
		return err
	}
	inv.mu.Lock()
	delete(inv.vols, name)
	delete(inv.drivers, name)
	inv.mu.Unlock()
	return nil
}
