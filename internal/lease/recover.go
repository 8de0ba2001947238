package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// Recover makes the leases in the database agree with the host before any
// client is let in: it undoes acquires that a crash interrupted, finishes
// interrupted releases, ends the leases of an earlier boot, of owners that
// exited and of snapshots that vanished, and loads the live leases. Then
// it makes the disk agree (reconcileDisk): bmsched's own leftovers go,
// and tagged snapshots no record holds are adopted as orphaned leases.
// changed counts the leases it ended and the entries it removed.
func (s *Scheduler) Recover() (changed int, err error) {
	leases, err := s.db.Leases()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var errs []error
	claimed := map[string]bool{} // temporaries of creating leases
	for _, l := range leases {
		if err := s.recoverLease(l, now, claimed); err != nil {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	ended := len(leases) - len(s.live)
	s.mu.Unlock()
	removed, err := s.reconcileDisk(claimed, "")
	if err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	changed = ended + removed
	s.notifyLocked()
	s.mu.Unlock()
	return changed, errors.Join(errs...)
}

func (s *Scheduler) recoverLease(l db.Lease, now time.Time, claimed map[string]bool) error {
	ev := func(kind, msg string) db.Event {
		return db.Event{Source: "recover", Kind: kind, Volume: l.Volume, Machine: l.Machine, Lease: l.ID, Message: fmt.Sprintf("lease %d: %s", l.ID, msg)}
	}
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
	del := func(path string) error {
		if err := drv.Delete(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("recover lease %d: %w", l.ID, err)
		}
		return nil
	}
	switch {
	case l.State == db.LeaseCreating:
		// The client never got the path. The snapshot is either still
		// under the temporary, or was renamed into place, or was never
		// made: then whatever has the final name is someone else's, made
		// by hand, and only the tag tells it from ours.
		claimed[l.Temp] = true
		if _, err := os.Lstat(l.Temp); err == nil {
			if err := del(l.Temp); err != nil {
				return err
			}
		} else if owns(l.Path, l.ID, l.Tag) {
			if err := del(l.Path); err != nil {
				return err
			}
		}
		return s.endInDB(l.ID, ev("lease-undone", "acquire interrupted by a crash: undone"))
	case l.State == db.LeaseReleasing:
		if _, err := s.deleteSnapshot(drv, l); err != nil {
			// Kept releasing, and retried while serving.
			s.deleteFailed(l, err)
			return nil
		}
		return s.endInDB(l.ID, ev("lease-released", "release interrupted by a crash: finished"))
	case l.BootID != s.cfg.BootID && l.State != db.LeaseOrphaned:
		// An orphan's boot is only what its tag says: `gc --boot`, asked
		// for by an operator, removes those of earlier boots.
		return s.endAtRecovery(drv, l, ev("lease-reaped", "lease of an earlier boot (its VM died with the host): ended"))
	}
	if _, err := os.Lstat(l.Path); errors.Is(err, fs.ErrNotExist) && s.volumeThere(l.Volume) {
		return s.endInDB(l.ID, ev("lease-vanished", "snapshot "+l.Path+" vanished: ended"))
	}
	var owner *ownerWatch
	if l.State == db.LeaseActive && l.Owner.PID != 0 {
		w, err := watchOwner(l.Owner.PID, l.Owner.PIDStart)
		switch {
		case errors.Is(err, errOwnerGone):
			return s.endAtRecovery(drv, l, ev("lease-owner-exited", fmt.Sprintf("owner process %d exited while the daemon was down: ended", l.Owner.PID)))
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
// capacity slot while active or orphaned, and its owner is watched.
func (s *Scheduler) load(l db.Lease, owner *ownerWatch) {
	e := &entry{id: l.ID, key: machineKey(l.Volume, l.Machine), owner: owner,
		counted: l.State == db.LeaseActive || l.State == db.LeaseOrphaned || l.State == db.LeaseReleasing || l.State == db.LeaseCreating}
	if l.Expires != nil {
		e.expires = *l.Expires
	}
	if l.HoldUntil != nil {
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
// release would: marked releasing, its snapshot deleted, then its record
// with the event ev. A delete that fails leaves it releasing, holding its
// slot, retried by the reaper once the daemon serves.
func (s *Scheduler) endAtRecovery(drv btrfs.Driver, l db.Lease, ev db.Event) error {
	l, ok, err := s.db.UpdateLease(l.ID, func(l *db.Lease) { l.State = db.LeaseReleasing })
	if err != nil || !ok {
		return err
	}
	if _, err := s.deleteSnapshot(drv, l); err != nil {
		s.deleteFailed(l, err)
		return nil
	}
	return s.endInDB(l.ID, ev)
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
	claimed := map[string]bool{}
	for _, l := range leases {
		if l.State == db.LeaseCreating {
			claimed[l.Temp] = true
		}
	}
	now := time.Now()
	for _, l := range leases {
		if l.Volume != volume || !s.undefer(l.ID) {
			continue
		}
		if err := s.recoverLease(l, now, claimed); err != nil {
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
