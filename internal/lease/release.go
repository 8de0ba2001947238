package lease

import (
	"fmt"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// Release ends a lease, or with hold > 0 keeps its snapshot for debugging
// until the hold ends. When it answers, the snapshot's name is gone: it
// was set aside, and is deleted in the background (endLease). Releasing
// a lease that already ended, or is ending, succeeds and says so.
func (s *Scheduler) Release(id uint64, who Caller, hold time.Duration) (string, error) {
	if err := checkDuration("--hold", hold); err != nil {
		return "", err
	}
	l, ok, err := s.db.Lease(id)
	if err != nil {
		return "", err
	}
	if !ok {
		return s.releaseEnded(id)
	}
	if err := mayChange(l, who, "release"); err != nil {
		return "", err
	}
	if s.creating(id) || l.State == db.LeaseCreating {
		// Its acquire is still placing the snapshot: ending the lease now
		// would race it. Acquire answers, or undoes it, within moments.
		return "", errkind.Errorf(errkind.Refused, "lease %d is still being created; release it once its acquire has answered", id)
	}
	if hold > 0 {
		return s.hold(l, hold)
	}
	how, err := s.endLease(l, endEvent(l, "lease", "lease-released", fmt.Sprintf("released by uid %d", who.UID)))
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

// releaseEnded answers the release of a lease with no record: ended
// already, or never issued.
func (s *Scheduler) releaseEnded(id uint64) (string, error) {
	issued, err := s.db.LeaseIssued(id)
	if err != nil {
		return "", err
	}
	if !issued {
		return "", errkind.Errorf(errkind.NotFound, "no lease %d was ever issued (`bmsched leases` lists the leases)", id)
	}
	return fmt.Sprintf("lease %d had already ended", id), nil
}

// creating reports whether lease id's acquire has not placed it yet.
func (s *Scheduler) creating(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live[id]
	return e != nil && e.creating
}

// hold keeps lease l's snapshot until the hold ends, giving its slot back.
func (s *Scheduler) hold(l db.Lease, hold time.Duration) (string, error) {
	id := l.ID
	refused := errkind.Errorf(errkind.Refused, "lease %d is being released; it cannot be held any more", id)
	if l.State == db.LeaseReleasing {
		return "", refused
	}
	until := time.Now().UTC().Add(hold)
	ending := false
	_, ok, err := s.db.UpdateLease(id, func(l *db.Lease) {
		// An end that began since the read wins.
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
		return "", refused
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

// Abandon ends a lease whose acquire could not answer (its client went
// away while the snapshot was made), logging why: it was no one's
// release.
func (s *Scheduler) Abandon(id uint64, why string) error {
	l, ok, err := s.db.Lease(id)
	if err != nil || !ok {
		return err
	}
	_, err = s.endLease(l, endEvent(l, "lease", "lease-abandoned", why))
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

// Leases returns every lease not yet ended, in id order.
func (s *Scheduler) Leases() ([]db.Lease, error) { return s.db.Leases() }
