package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// Release ends a lease and deletes its snapshot, or with hold > 0 keeps
// the snapshot for debugging until the hold ends. Releasing a lease that
// already ended succeeds and says so.
func (s *Scheduler) Release(id uint64, who Caller, hold time.Duration) (string, error) {
	if err := checkDuration("--hold", hold); err != nil {
		return "", err
	}
	l, ok, err := s.db.Lease(id)
	if err != nil {
		return "", err
	}
	if !ok {
		issued, err := s.db.LeaseIssued(id)
		if err != nil {
			return "", err
		}
		if !issued {
			return "", errkind.Errorf(errkind.NotFound, "no lease %d was ever issued (`bmsched leases` lists the leases)", id)
		}
		return fmt.Sprintf("lease %d had already ended", id), nil
	}
	if err := mayChange(l, who, "release"); err != nil {
		return "", err
	}
	if l.State == db.LeaseCreating {
		// Its acquire is still making the snapshot: ending the lease now
		// would race it. Acquire answers, or undoes it, within moments.
		return "", errkind.Errorf(errkind.Refused, "lease %d is still being created; release it once its acquire has answered", id)
	}
	if hold > 0 && l.State == db.LeaseReleasing {
		return "", errkind.Errorf(errkind.Refused, "lease %d is being released; it cannot be held any more", id)
	}
	if hold > 0 {
		until := time.Now().UTC().Add(hold)
		ending := false
		_, ok, err := s.db.UpdateLease(id, func(l *db.Lease) {
			// An end that began since the read above wins.
			ending = l.State == db.LeaseReleasing
			if !ending {
				l.State = db.LeaseHeld
				l.HoldUntil = &until
			}
		}, db.Event{Source: "lease", Kind: "lease-held", Volume: l.Volume, Machine: l.Machine, Lease: id,
			Message: fmt.Sprintf("lease %d released with a hold: %s kept until %s", id, l.Snapshot, until.Format(time.RFC3339))})
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("lease %d had already ended", id), nil
		}
		if ending {
			return "", errkind.Errorf(errkind.Refused, "lease %d is being released; it cannot be held any more", id)
		}
		s.mu.Lock()
		if e := s.live[id]; e != nil {
			e.holdUntil = until
			s.uncountLocked(e)
			if e.owner != nil {
				// The build is done; the hold, not the owner, decides now.
				e.owner.close()
				e.owner = nil
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
		s.wakeReaper()
		return fmt.Sprintf("lease %d held: %s kept until %s", id, l.Path, until.Format(time.RFC3339)), nil
	}
	how, err := s.endLease(l, "lease", "lease-released", fmt.Sprintf("released by uid %d", who.UID))
	if err != nil {
		return "", err
	}
	switch how {
	case endedLater:
		return fmt.Sprintf("lease %d released; its snapshot %s is deleted when volume %s is mounted again", id, l.Path, l.Volume), nil
	case endedElsewhere:
		return fmt.Sprintf("lease %d had already ended", id), nil
	case endedGone:
		return fmt.Sprintf("lease %d released (its snapshot was already gone)", id), nil
	}
	return fmt.Sprintf("lease %d released", id), nil
}

// Abandon ends a lease whose acquire could not answer (its client went
// away while the snapshot was made), logging why: it was no one's
// release.
func (s *Scheduler) Abandon(id uint64, why string) error {
	l, ok, err := s.db.Lease(id)
	if err != nil || !ok {
		return err
	}
	_, err = s.end(l, "lease", "lease-abandoned", why)
	return err
}

// Renew extends a lease by ttl, or by the TTL it was acquired with.
func (s *Scheduler) Renew(id uint64, who Caller, ttl time.Duration) (db.Lease, error) {
	if err := checkDuration("--ttl", ttl); err != nil {
		return db.Lease{}, err
	}
	l, ok, err := s.db.Lease(id)
	if err != nil {
		return l, err
	}
	if !ok {
		return l, errkind.Errorf(errkind.NotFound, "no lease %d (it ended, or was never issued)", id)
	}
	if err := mayChange(l, who, "renew"); err != nil {
		return l, err
	}
	if l.State != db.LeaseActive {
		return l, errkind.Errorf(errkind.Refused, "lease %d is %s, not active: only an active lease can be renewed", id, l.State)
	}
	if ttl <= 0 {
		ttl = l.TTL
	}
	if ttl <= 0 {
		return l, errkind.Errorf(errkind.Usage, "lease %d has no TTL to renew by: give --ttl DUR", id)
	}
	exp := time.Now().UTC().Add(ttl)
	l, ok, err = s.db.UpdateLease(id, func(l *db.Lease) {
		l.Expires = &exp
		l.TTL = ttl
	})
	if err != nil {
		return l, err
	}
	if !ok {
		return l, errkind.Errorf(errkind.NotFound, "lease %d ended while being renewed", id)
	}
	s.mu.Lock()
	if e := s.live[id]; e != nil {
		e.expires = exp
	}
	s.mu.Unlock()
	s.wakeReaper()
	return l, nil
}

// Caller is who asks to change a lease.
type Caller struct {
	UID      uint32 // from SO_PEERCRED
	Operator bool   // root, or a member of the operators group
}

// mayChange allows the lease's own uid and root; an orphaned lease, whose
// owner is unknown, root and the operators.
func mayChange(l db.Lease, who Caller, what string) error {
	if l.State == db.LeaseOrphaned {
		if who.UID == 0 || who.Operator {
			return nil
		}
		return errkind.Errorf(errkind.Refused, "permission denied: lease %d is orphaned (adopted from disk, owner unknown); only root or an operator may %s it", l.ID, what)
	}
	if who.UID == 0 || who.UID == l.Owner.UID {
		return nil
	}
	return errkind.Errorf(errkind.Refused, "permission denied: lease %d belongs to uid %d; only that user or root may %s it", l.ID, l.Owner.UID, what)
}

// endHow is how an end went.
type endHow int

const (
	endedDeleted   endHow = iota // the snapshot was deleted
	endedGone                    // the snapshot had already disappeared
	endedElsewhere               // someone else ended the lease first
	endedLater                   // its volume is unavailable: the snapshot goes when it is back
)

// errUnavailable marks a delete put off because the snapshot's volume is
// not mounted.
var errUnavailable = errors.New("volume unavailable")

// end deletes a lease's snapshot and its record: the record is marked
// releasing first, so that a crash between is finished by Recover. gone
// reports that the snapshot had already disappeared, or that the lease
// was ended by someone else.
func (s *Scheduler) end(l db.Lease, source, kind, why string) (gone bool, err error) {
	how, err := s.endLease(l, source, kind, why)
	return how != endedDeleted, err
}

// endLease is end, saying how it went. One ender at a time: a release
// racing the reaper or an owner's exit waits for the end under way, so
// that neither deletes twice or logs the end twice, and neither returns
// before the snapshot is gone; if that end failed, the next one tries.
func (s *Scheduler) endLease(l db.Lease, source, kind, why string) (how endHow, err error) {
	defer s.claimEnd(l.ID)()

	// Read the record again under the claim: the caller's copy may
	// predate an end that finished while this one waited, and must not
	// make this one delete and log again.
	id := l.ID
	l, ok, err := s.db.Lease(id)
	if err != nil {
		return 0, err
	}
	if !ok {
		s.forget(id)
		return endedElsewhere, nil
	}
	if l.State != db.LeaseReleasing {
		l, ok, err = s.db.UpdateLease(id, func(l *db.Lease) { l.State = db.LeaseReleasing })
		if err != nil {
			return 0, err
		}
		if !ok {
			s.forget(id)
			return endedElsewhere, nil
		}
	}
	s.cfg.CrashAt.At("release-intent")
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return 0, err
	}
	how = endedDeleted
	if gone, err := s.deleteSnapshot(drv, l); errors.Is(err, errUnavailable) {
		// Ended in the database; the snapshot goes when the volume is
		// back (RetryVolume).
		s.deleteFailed(l, err)
		return endedLater, nil
	} else if err != nil {
		s.deleteFailed(l, err)
		return 0, err
	} else if gone {
		how = endedGone
	}
	s.cfg.CrashAt.At("release-delete")
	msg := fmt.Sprintf("lease %d ended: %s", l.ID, why)
	if how == endedGone {
		msg += " (snapshot was already gone)"
	}
	if err := s.endInDB(l.ID, db.Event{Source: source, Kind: kind, Volume: l.Volume, Machine: l.Machine, Lease: l.ID, Message: msg}); err != nil {
		return 0, err
	}
	s.forget(l.ID)
	return how, nil
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

// Leases returns every lease not yet ended, in id order.
func (s *Scheduler) Leases() ([]db.Lease, error) { return s.db.Leases() }

// deleteSnapshot deletes a lease's snapshot, and only if it is the
// lease's: an entry at the path that does not carry the lease's tag was
// put there by someone else after the snapshot went, and is kept. gone
// reports that the lease's own snapshot was already gone.
func (s *Scheduler) deleteSnapshot(drv btrfs.Driver, l db.Lease) (gone bool, err error) {
	if !s.inv.Available(l.Volume) {
		// Not there to see: neither gone nor deletable until it is back.
		return false, fmt.Errorf("%w: %v", errUnavailable, s.inv.UnavailableError(l.Volume))
	}
	if _, err := os.Lstat(l.Path); errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if !owns(l.Path, l.ID, l.Tag) {
		s.log.Warn("snapshot path of a lease holds something else: kept", "lease", l.ID, "path", l.Path)
		return true, nil
	}
	if err := drv.Delete(l.Path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		return false, fmt.Errorf("delete snapshot of lease %d: %w (%s); meanwhile the lease stays releasing and bmsched retries the delete", l.ID, err, deleteHint(err))
	}
	return false, nil
}
