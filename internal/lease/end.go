package lease

import (
	"errors"
	"fmt"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// endHow is how an end went.
type endHow int

const (
	endedAside     endHow = iota // the snapshot was set aside; the deleter deletes it
	endedGone                    // the snapshot had already disappeared
	endedElsewhere               // someone else ended the lease first
	endedLater                   // its volume is unavailable: the snapshot goes when it is back
)

// errUnavailable marks a delete put off because the snapshot's volume is
// not mounted.
var errUnavailable = errors.New("volume unavailable")

// endLease ends lease l, however it ends (release, expiry, owner exit,
// gc, recovery): its snapshot is renamed aside (setAside), then one
// commit marks it releasing with the aside path and the end's event, and
// the deleter deletes the aside subvolume in the background; until
// then the lease keeps its slot. If the rename fails the lease stays as
// it was and the error says why. One ender at a time: a release racing
// the reaper or an owner's exit waits for the end under way, so that
// neither sets aside or logs twice.
func (s *Scheduler) endLease(l db.Lease, ev db.Event) (endHow, error) {
	defer s.claimEnd(l.ID)()
	// Read the record again under the claim: the caller's copy may
	// predate an end that finished while this one waited.
	id := l.ID
	l, ok, err := s.db.Lease(id)
	if err != nil {
		return 0, err
	}
	if !ok {
		s.forget(id)
		return endedElsewhere, nil
	}
	if l.State == db.LeaseReleasing {
		// Ended already, by this end's predecessor: its delete goes on.
		s.queueDelete(l.ID)
		return endedElsewhere, nil
	}
	if !s.inv.Available(l.Volume) {
		// Ended in the database; the snapshot goes when the volume is
		// back (RetryVolume).
		if err := s.markReleasing(l, "", ev); err != nil {
			return 0, err
		}
		s.deleteFailed(l, fmt.Errorf("%w: %v", errUnavailable, s.inv.UnavailableError(l.Volume)))
		return endedLater, nil
	}
	return s.endAside(l, ev)
}

// endEvent is the event of lease l's end: kind, and why it ended.
func endEvent(l db.Lease, source, kind, why string) db.Event {
	return db.Event{Source: source, Kind: kind, Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
		Message: fmt.Sprintf("lease %d ended: %s", l.ID, why)}
}

// endAside sets lease l's snapshot aside and commits its end.
func (s *Scheduler) endAside(l db.Lease, ev db.Event) (endHow, error) {
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return 0, err
	}
	aside, err := s.setAside(drv, l)
	if err != nil {
		return 0, err
	}
	s.cfg.CrashAt.At("release-aside")
	if aside == "" {
		ev.Message += " (snapshot was already gone)"
		if err := s.endInDB(l.ID, ev); err != nil {
			return 0, err
		}
		s.forget(l.ID)
		return endedGone, nil
	}
	if err := s.markReleasing(l, aside, ev); err != nil {
		// Put back under its name, so that the lease stays as it was;
		// failing that, Recover finds it aside and finishes the end.
		if rerr := drv.RenameNoReplace(aside, l.Path); rerr != nil {
			s.log.Error("put a snapshot back after its release failed; the next start finishes the release", "lease", l.ID, "path", aside, "err", rerr)
		}
		return 0, err
	}
	s.cfg.CrashAt.At("release-commit")
	s.mu.Lock()
	if e := s.live[l.ID]; e != nil {
		// Ended: no expiry or hold is due any more, only the delete.
		e.expires, e.holdUntil = time.Time{}, time.Time{}
	}
	s.mu.Unlock()
	s.queueDelete(l.ID)
	return endedAside, nil
}

// markReleasing commits lease l's end: releasing, its snapshot at aside
// ("" when it is still under its name), with the end's event.
func (s *Scheduler) markReleasing(l db.Lease, aside string, ev db.Event) error {
	_, ok, err := s.db.UpdateLease(l.ID, func(l *db.Lease) {
		l.State = db.LeaseReleasing
		l.Aside = aside
		l.Ending = ev.Kind
	}, ev)
	if err == nil && !ok {
		err = fmt.Errorf("end lease %d: its record went while it was being ended", l.ID)
	}
	return err
}

// setAside renames lease l's snapshot to its aside name in the same
// directory, and returns that; "" when there is no snapshot of the
// lease's at its path (gone, or something else put there, which is
// kept). The aside carries the lease's tag, so that a crash before the
// commit leaves Recover a snapshot it can tell for this lease's.
func (s *Scheduler) setAside(drv btrfs.Driver, l db.Lease) (string, error) {
	there, err := drv.Exists(l.Path)
	if err != nil {
		return "", fmt.Errorf("release lease %d: %w; the lease stays %s", l.ID, err, l.State)
	}
	if !there {
		return "", nil
	}
	if !owns(drv, l.Path, l.ID, l.Tag) {
		s.log.Warn("snapshot path of a lease holds something else: kept", "lease", l.ID, "path", l.Path)
		return "", nil
	}
	aside := asidePath(l)
	if err := drv.RenameNoReplace(l.Path, aside); err != nil {
		return "", fmt.Errorf("release lease %d: %w (%s); the lease stays %s", l.ID, err, deleteHint(err), l.State)
	}
	return aside, nil
}

// claimEnd waits for the end of lease id under way, if any, then claims
// the end for the caller until it calls the function returned.
func (s *Scheduler) claimEnd(id uint64) (done func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live[id]
	for e != nil && e.ending != nil {
		ch := e.ending
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
		e = s.live[id]
	}
	if e == nil {
		return func() {}
	}
	e.ending = make(chan struct{})
	return func() {
		s.mu.Lock()
		close(e.ending)
		e.ending = nil
		retry := !e.retry.IsZero()
		s.mu.Unlock()
		if retry {
			// The reaper skipped this lease while its end was under way:
			// have it see the retry now.
			s.wakeReaper()
		}
	}
}

// forget drops a lease from memory, freeing its slot.
func (s *Scheduler) forget(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live[id]
	if e == nil {
		return
	}
	delete(s.live, id)
	if e.owner != nil {
		e.owner.close()
	}
	s.uncountLocked(e)
	s.notifyLocked()
}

// uncountLocked gives back a lease's capacity slot, once.
func (s *Scheduler) uncountLocked(e *entry) {
	if e.counted {
		e.counted = false
		s.freeSlotLocked(e.key)
	}
}
