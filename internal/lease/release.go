package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
)

// Release ends a lease and deletes its snapshot, or with hold > 0 keeps
// the snapshot for debugging until the hold ends. Releasing a lease that
// already ended succeeds and says so.
func (s *Scheduler) Release(id uint64, uid uint32, hold time.Duration) (string, error) {
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
			return "", api.Errorf(api.ExitNotFound, "no lease %d was ever issued (`bmsched leases` lists the leases)", id)
		}
		return fmt.Sprintf("lease %d had already ended", id), nil
	}
	if err := mayChange(l, uid, "release"); err != nil {
		return "", err
	}
	if hold > 0 {
		until := time.Now().UTC().Add(hold)
		_, ok, err := s.db.UpdateLease(id, func(l *db.Lease) {
			l.State = db.LeaseHeld
			l.HoldUntil = &until
		}, db.Event{Source: "lease", Kind: "lease-held", Volume: l.Volume, Machine: l.Machine, Lease: id,
			Message: fmt.Sprintf("lease %d released with a hold: %s kept until %s", id, l.Snapshot, until.Format(time.RFC3339))})
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("lease %d had already ended", id), nil
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
	gone, err := s.end(l, "lease", "lease-released", fmt.Sprintf("released by uid %d", uid))
	if err != nil {
		return "", err
	}
	if gone {
		return fmt.Sprintf("lease %d released (its snapshot was already gone)", id), nil
	}
	return fmt.Sprintf("lease %d released", id), nil
}

// Renew extends a lease by ttl, or by the TTL it was acquired with.
func (s *Scheduler) Renew(id uint64, uid uint32, ttl time.Duration) (db.Lease, error) {
	l, ok, err := s.db.Lease(id)
	if err != nil {
		return l, err
	}
	if !ok {
		return l, api.Errorf(api.ExitNotFound, "no lease %d (it ended, or was never issued)", id)
	}
	if err := mayChange(l, uid, "renew"); err != nil {
		return l, err
	}
	if l.State != db.LeaseActive {
		return l, api.Errorf(api.ExitRefused, "lease %d is %s, not active: only an active lease can be renewed", id, l.State)
	}
	if ttl <= 0 {
		ttl = l.TTL
	}
	if ttl <= 0 {
		return l, api.Errorf(api.ExitUsage, "lease %d has no TTL to renew by: give --ttl DUR", id)
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
		return l, api.Errorf(api.ExitNotFound, "lease %d ended while being renewed", id)
	}
	s.mu.Lock()
	if e := s.live[id]; e != nil {
		e.expires = exp
	}
	s.mu.Unlock()
	s.wakeReaper()
	return l, nil
}

// mayChange allows the lease's own uid and root.
func mayChange(l db.Lease, uid uint32, what string) error {
	if uid == 0 || uid == l.Owner.UID {
		return nil
	}
	return api.Errorf(api.ExitRefused, "permission denied: lease %d belongs to uid %d; only that user or root may %s it", l.ID, l.Owner.UID, what)
}

// end deletes a lease's snapshot and its record: the record is marked
// releasing first, so that a crash between is finished by Recover. gone
// reports that the snapshot had already disappeared.
func (s *Scheduler) end(l db.Lease, source, kind, why string) (gone bool, err error) {
	// One ender at a time: a release racing the reaper or an owner's exit
	// must not delete twice or log the end twice.
	s.mu.Lock()
	if e := s.live[l.ID]; e != nil {
		if e.ending {
			s.mu.Unlock()
			return true, nil
		}
		e.ending = true
	}
	s.mu.Unlock()
	if l.State != db.LeaseReleasing {
		var ok bool
		l, ok, err = s.db.UpdateLease(l.ID, func(l *db.Lease) { l.State = db.LeaseReleasing })
		if err != nil {
			return false, err
		}
		if !ok {
			s.forget(l.ID)
			return true, nil // ended meanwhile by someone else
		}
	}
	s.crashPoint("release-intent")
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return false, err
	}
	if err := drv.Delete(l.Path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("delete snapshot of lease %d: %w", l.ID, err)
		}
		gone = true
	}
	s.crashPoint("release-delete")
	msg := fmt.Sprintf("lease %d ended: %s", l.ID, why)
	if gone {
		msg += " (snapshot was already gone)"
	}
	if err := s.db.EndLease(l.ID, db.Event{Source: source, Kind: kind, Volume: l.Volume, Machine: l.Machine, Lease: l.ID, Message: msg}); err != nil {
		return gone, err
	}
	s.forget(l.ID)
	return gone, nil
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

// Count returns how many leases a machine has, of any state.
func (s *Scheduler) Count(volume, machine string) int {
	key := machineKey(volume, machine)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.live {
		if e.key == key {
			n++
		}
	}
	return n
}
