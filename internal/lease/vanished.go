package lease

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/db"
)

// EndVanished ends the leases of a machine whose snapshots are gone from
// disk: deleted by hand, or with the whole machine directory. The daemon
// calls it after each rescan of the machine. Nothing is deleted: there is
// nothing left of ours to delete, and whatever may since have taken the
// snapshot's name is not ours. It returns how many leases it ended.
//
// A lease being created has no snapshot at its path yet and is not looked
// at. A releasing lease whose snapshot is gone, however it went, is left
// to the deleter, which ends it at once.
func (s *Scheduler) EndVanished(volume, machine string) int {
	if !s.inv.Available(volume) {
		return 0 // its snapshots are out of sight, not gone
	}
	key := machineKey(volume, machine)
	s.mu.Lock()
	var ids []uint64
	for id, e := range s.live {
		if e.key == key && !e.creating && e.ending == nil {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	n := 0
	for _, id := range ids {
		ended, err := s.endVanished(id)
		if err != nil {
			s.log.Error("end lease whose snapshot vanished", "lease", id, "err", err)
			continue
		}
		if ended {
			n++
		}
	}
	return n
}

// volumeThere probes a volume now: whether its filesystem is the one
// bmsched knows. A snapshot path that lstat finds gone is only vanished
// if it is, after the lstat: the volume may have been unmounted since the
// last look.
func (s *Scheduler) volumeThere(volume string) bool {
	ok, err := s.inv.CheckVolume(volume)
	return ok && err == nil
}

func (s *Scheduler) endVanished(id uint64) (bool, error) {
	l, ok, err := s.db.Lease(id)
	if err == nil && ok && l.State == db.LeaseReleasing {
		// A release whose delete failed waits for a retry: once its
		// snapshot is gone, however that happened, its end is done.
		if s.vanished(l) {
			s.queueDelete(id)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.endRecord(id, func(l db.Lease) bool { return s.vanished(l) },
		func(l db.Lease) db.Event {
			return db.Event{Source: "watch", Kind: "lease-vanished", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
				Message: fmt.Sprintf("lease %d ended: its snapshot %s vanished", l.ID, l.Path)}
		})
}

// EndReplaced ends every lease on a volume whose filesystem was replaced
// by another: their snapshots are on the filesystem that went, so
// nothing is deleted. It returns how many it ended.
func (s *Scheduler) EndReplaced(volume string) int {
	ls, err := s.db.Leases()
	if err != nil {
		s.log.Error("list leases of a replaced volume", "volume", volume, "err", err)
		return 0
	}
	n := 0
	for _, l := range ls {
		if l.Volume != volume {
			continue
		}
		ended, err := s.endRecord(l.ID, func(l db.Lease) bool { return l.State != db.LeaseCreating },
			func(l db.Lease) db.Event {
				return db.Event{Source: "volume", Kind: "lease-ended", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
					Message: fmt.Sprintf("lease %d ended: volume replaced (its snapshot %s was on the filesystem that went; nothing deleted)", l.ID, l.Path)}
			})
		if err != nil {
			s.log.Error("end lease of a replaced volume", "lease", l.ID, "err", err)
		}
		if ended {
			n++
		}
	}
	return n
}

// endRecord ends lease id in the database only, when due says so of its
// record, deleting nothing. It claims the end as endLease does, so that a
// release or the reaper racing it waits for it instead of logging a
// second end. A lease not loaded yet (before Recover) has nobody to race.
func (s *Scheduler) endRecord(id uint64, due func(db.Lease) bool, event func(db.Lease) db.Event) (bool, error) {
	s.mu.Lock()
	e := s.live[id]
	if e != nil && (e.creating || e.ending != nil) {
		s.mu.Unlock()
		return false, nil
	}
	if e != nil {
		done := make(chan struct{})
		e.ending = done
		defer func() {
			s.mu.Lock()
			close(done)
			e.ending = nil
			s.mu.Unlock()
		}()
	}
	s.mu.Unlock()
	// Read under the claim: an end that finished before it has dropped
	// the record already.
	l, ok, err := s.db.Lease(id)
	if err != nil || !ok || !due(l) {
		return false, err
	}
	if err := s.endKeptInDB(id, event(l)); err != nil {
		return false, fmt.Errorf("end lease %d: %w", id, err)
	}
	s.forget(id)
	return true, nil
}

// vanished reports whether lease l's snapshot is no longer there, as its
// volume is: under its name, or aside for a releasing lease. Any answer
// but "does not exist" counts as there: a lease is never ended on a
// guess.
func (s *Scheduler) vanished(l db.Lease) bool {
	path := l.Path
	switch {
	case l.State == db.LeaseReleasing && l.Aside != "":
		path = l.Aside
	case l.State == db.LeaseReleasing:
	case l.State != db.LeaseActive && l.State != db.LeaseHeld && l.State != db.LeaseOrphaned:
		return false
	}
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return false
	}
	gone, _ := s.gone(drv, path)
	return gone && s.volumeThere(l.Volume)
}
