package lease

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// Recover makes the leases in the database agree with the host before any
// client is let in: it finishes the placing of snapshots that a crash
// left under their temporary, finishes interrupted ends, ends the leases
// of an earlier boot, of owners that exited and of snapshots that
// vanished, and loads the live leases. Then it makes the disk agree
// (reconcileDisk): bmsched's own leftovers go, and tagged snapshots no
// record holds are adopted as orphaned leases. changed counts the leases
// it ended and the entries it removed.
func (s *Scheduler) Recover() (changed int, err error) {
	leases, err := s.db.Leases()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, l := range leases {
		if err := s.recoverLease(l); err != nil {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	ended := len(leases) - len(s.live)
	s.mu.Unlock()
	removed, err := s.reconcileDisk(claimedTemps(leases), "")
	if err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	changed = ended + removed
	s.notifyLocked()
	s.mu.Unlock()
	return changed, errors.Join(errs...)
}

// claimedTemps are the temporaries lease records hold: a snapshot not
// placed yet, or set aside. reconcileDisk leaves them to recoverLease.
func claimedTemps(leases []db.Lease) map[string]bool {
	claimed := map[string]bool{}
	for _, l := range leases {
		if l.Temp != "" {
			claimed[l.Temp] = true
		}
		if l.Path != "" {
			claimed[asidePath(l)] = true
		}
	}
	return claimed
}

// recoverLease finishes or undoes what a crash left of lease l, ends it if
// its build cannot be running any more, and loads it otherwise.
func (s *Scheduler) recoverLease(l db.Lease) error {
	if !s.inv.Available(l.Volume) {
		// Its snapshot is out of sight with its filesystem: nothing can be
		// finished, undone or judged until the volume is back
		// (RecoverVolume). It keeps its slot meanwhile.
		s.load(l, nil)
		s.mu.Lock()
		s.live[l.ID].deferred = true
		s.mu.Unlock()
		return nil
	}
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return err
	}
	ev := func(kind, msg string) db.Event {
		return db.Event{Source: "recover", Kind: kind, Volume: l.Volume, Machine: l.Machine, Lease: l.ID, Message: fmt.Sprintf("lease %d: %s", l.ID, msg)}
	}
	if l.State == db.LeaseCreating {
		// A lease of a bmsched before one-commit acquires: its client
		// never got the path.
		return s.undoCreating(drv, l, ev("lease-undone", "acquire interrupted by a crash: undone"))
	}
	l, done, err := s.finishSteps(drv, l, ev)
	if done || err != nil {
		return err
	}
	if l.BootID != s.cfg.BootID && l.State != db.LeaseOrphaned {
		// An orphan's boot is only what its tag says: `gc --boot`, asked
		// for by an operator, removes those of earlier boots.
		return s.endAtRecovery(l, ev("lease-reaped", "lease of an earlier boot (its VM died with the host): ended"))
	}
	if gone, _ := s.gone(drv, l.Path); gone && s.volumeThere(l.Volume) {
		return s.endInDB(l.ID, ev("lease-vanished", "snapshot "+l.Path+" vanished: ended"))
	}
	return s.loadWatched(l, ev)
}

// finishSteps finishes the steps of an acquire or an end that a crash
// interrupted: a snapshot still under its temporary is placed, one set
// aside without its end committed is ended. done reports that l needs
// nothing more.
func (s *Scheduler) finishSteps(drv btrfs.Driver, l db.Lease, ev func(kind, msg string) db.Event) (_ db.Lease, done bool, err error) {
	if l.State == db.LeaseReleasing {
		s.load(l, nil)
		s.queueDelete(l.ID)
		return l, true, nil
	}
	if l.Temp != "" && owns(drv, l.Temp, l.ID, l.Tag) {
		if undone, err := s.place(drv, l); undone || err != nil {
			return l, true, err
		}
	}
	aside := asidePath(l)
	if owns(drv, aside, l.ID, l.Tag) {
		// Set aside, and the daemon died before committing the end:
		// the end was decided (a release, an expiry, an owner's exit),
		// so it is finished.
		if err := s.markReleasing(l, aside, ev("lease-released", "end interrupted by a crash: finished")); err != nil {
			return l, true, err
		}
		l.State, l.Aside = db.LeaseReleasing, aside
		s.load(l, nil)
		s.queueDelete(l.ID)
		return l, true, nil
	}
	return l, false, nil
}

// place finishes the acquire of a lease committed with its snapshot still
// under its temporary. The name taken meanwhile (by hand) undoes the
// lease instead: its client never got the path.
func (s *Scheduler) place(drv btrfs.Driver, l db.Lease) (undone bool, err error) {
	err = drv.RenameNoReplace(l.Temp, l.Path)
	if errors.Is(err, fs.ErrExist) {
		if err := s.endInDB(l.ID, db.Event{Source: "recover", Kind: "lease-undone", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
			Message: fmt.Sprintf("lease %d: %s was made by hand while its acquire was under way: undone", l.ID, l.Path)}); err != nil {
			return true, err
		}
		return true, s.deleteAt(drv, l.ID, l.Temp)
	}
	if err != nil {
		return false, fmt.Errorf("recover lease %d: %w; fix the cause and restart the daemon", l.ID, err)
	}
	return false, nil
}

// undoCreating ends a lease recorded by an older bmsched before its
// snapshot was made: the snapshot is either still under the temporary,
// or was renamed into place, or was never made, and then whatever has
// the final name is someone else's, made by hand; only the tag tells.
func (s *Scheduler) undoCreating(drv btrfs.Driver, l db.Lease, ev db.Event) error {
	if there, _ := drv.Exists(l.Temp); there {
		if err := s.deleteAt(drv, l.ID, l.Temp); err != nil {
			return err
		}
	} else if owns(drv, l.Path, l.ID, l.Tag) {
		if err := s.deleteAt(drv, l.ID, l.Path); err != nil {
			return err
		}
	}
	return s.endInDB(l.ID, ev)
}

// deleteAt deletes the subvolume at path during recovery.
func (s *Scheduler) deleteAt(drv btrfs.Driver, id uint64, path string) error {
	if err := drv.Delete(s.bg, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recover lease %d: %w", id, err)
	}
	return nil
}

// gone reports whether nothing is at path; any error counts as there: a
// lease is never ended on a guess.
func (s *Scheduler) gone(drv btrfs.Driver, path string) (bool, error) {
	there, err := drv.Exists(path)
	return err == nil && !there, err
}

// loadWatched loads a lease whose build may be running, watching its
// owner, or ends it when its owner exited while the daemon was down.
func (s *Scheduler) loadWatched(l db.Lease, ev func(kind, msg string) db.Event) error {
	var owner *ownerWatch
	if l.State == db.LeaseActive && l.Owner.PID != 0 {
		w, err := watchOwner(l.Owner.PID, l.Owner.PIDStart)
		switch {
		case errors.Is(err, errOwnerGone):
			return s.endAtRecovery(l, ev("lease-owner-exited", fmt.Sprintf("owner process %d exited while the daemon was down: ended", l.Owner.PID)))
		case err != nil:
			// Cannot tell: keep the lease, unwatched, rather than delete a
			// running build's snapshot; release, expiry or reboot end it.
			s.log.Warn("cannot watch the owner of a lease; it stays until released", "lease", l.ID, "err", err)
		default:
			owner = w
		}
	}
	s.load(l, owner)
	return nil // expired and hold-ended leases are left to the reaper
}

// load makes a recovered or adopted lease live in memory: it holds a
// capacity slot unless held, and its owner is watched.
func (s *Scheduler) load(l db.Lease, owner *ownerWatch) {
	e := &entry{id: l.ID, key: machineKey(l.Volume, l.Machine), owner: owner,
		counted: l.State == db.LeaseActive || l.State == db.LeaseOrphaned || l.State == db.LeaseReleasing || l.State == db.LeaseCreating}
	// A releasing lease waits for its delete, not for a deadline.
	if l.Expires != nil && l.State != db.LeaseReleasing {
		e.expires = *l.Expires
	}
	if l.HoldUntil != nil && l.State != db.LeaseReleasing {
		e.holdUntil = *l.HoldUntil
	}
	s.mu.Lock()
	s.live[l.ID] = e
	if e.counted {
		s.used[e.key]++
		s.total++
	}
	s.mu.Unlock()
	if owner != nil {
		s.watch(e, owner)
	}
}

// endAtRecovery ends a lease whose build cannot be running any more, as a
// release would. It is loaded first, holding its slot until its
// snapshot is deleted.
func (s *Scheduler) endAtRecovery(l db.Lease, ev db.Event) error {
	s.load(l, nil)
	_, err := s.endLease(l, ev)
	return err
}

// RecoverVolume does, for a volume whose filesystem is back, the recovery
// that its unavailability put off at start: each lease loaded then is
// finished, undone or ended as Recover would have, and the volume's disk
// is made to agree. Acquires under way elsewhere keep their temporaries.
func (s *Scheduler) RecoverVolume(volume string) {
	leases, err := s.db.Leases()
	if err != nil {
		s.log.Error("recover the leases of a volume back", "volume", volume, "err", err)
		return
	}
	claimed := claimedTemps(leases)
	s.mu.Lock()
	for _, e := range s.live {
		if e.creating {
			// Not committed yet: its temporary is its acquire's.
			claimed[e.temp] = true
		}
	}
	s.mu.Unlock()
	for _, l := range leases {
		if l.Volume != volume || !s.undefer(l.ID) {
			continue
		}
		if err := s.recoverLease(l); err != nil {
			s.log.Error("recover a lease of a volume back", "lease", l.ID, "err", err)
		}
	}
	if _, err := s.reconcileDisk(claimed, volume); err != nil {
		s.log.Error("recover the snapshots of a volume back", "volume", volume, "err", err)
	}
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()
}

// undefer drops a lease whose recovery was put off from memory, for
// recoverLease to load again; false for any other.
func (s *Scheduler) undefer(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live[id]
	if e == nil || !e.deferred {
		return false
	}
	delete(s.live, id)
	s.uncountLocked(e)
	return true
}
