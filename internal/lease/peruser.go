package lease

import (
	"context"
	"fmt"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// reserveUser takes one of req.UID's lease places under
// Config.MaxPerUser, counting its leases that are not ending and its
// acquires under way, so that one user cannot take every slot of the
// host. Root is not limited. A user at its limit waits up to req.Wait for
// one of its leases to end. done gives the place back once the acquire
// has failed or its lease is in the database; waited is how long it took.
func (s *Scheduler) reserveUser(ctx context.Context, req Request) (done func(), waited time.Duration, err error) {
	if s.cfg.MaxPerUser <= 0 || req.UID == 0 {
		return func() {}, 0, nil
	}
	start := time.Now()
	deadline := start.Add(req.Wait)
	for first := true; ; first = false {
		changed := s.Changed()
		n, ok, err := s.tryReserveUser(req.UID)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			if !first {
				waited = time.Since(start)
			}
			return func() { s.unreserveUser(req.UID) }, waited, nil
		}
		why := fmt.Sprintf("uid %d already holds %d leases, the most one user may (serve --max-leases-per-user %d)", req.UID, n, s.cfg.MaxPerUser)
		left := time.Until(deadline)
		if left <= 0 {
			if req.Wait > 0 {
				why += fmt.Sprintf(" (waited %s)", req.Wait)
			}
			return nil, 0, errkind.Errorf(errkind.NoCapacity, "%s; release one first (`bmsched leases` lists them), or wait with --wait DUR", why)
		}
		select {
		case <-changed:
		case <-time.After(left):
		case <-ctx.Done():
			return nil, 0, errkind.Errorf(errkind.NoCapacity, "%s; the client went away", why)
		case <-s.stop:
			return nil, 0, errkind.Errorf(errkind.NoCapacity, "%s; the daemon is shutting down", why)
		}
	}
}

// tryReserveUser counts uid's places and takes one if there is room; n
// is how many it holds.
func (s *Scheduler) tryReserveUser(uid uint32) (n int, ok bool, err error) {
	// Held across the count, so that two acquires of one user cannot both
	// see the last free place.
	s.userMu.Lock()
	defer s.userMu.Unlock()
	ls, err := s.db.Leases()
	if err != nil {
		return 0, false, err
	}
	n = s.userAcquiring[uid]
	for _, l := range ls {
		if l.Owner.UID == uid && l.State != db.LeaseReleasing {
			n++
		}
	}
	if n >= s.cfg.MaxPerUser {
		return n, false, nil
	}
	s.userAcquiring[uid]++
	return n, true, nil
}

func (s *Scheduler) unreserveUser(uid uint32) {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	if s.userAcquiring[uid]--; s.userAcquiring[uid] <= 0 {
		delete(s.userAcquiring, uid)
	}
	// A place is free, or its lease is recorded: either may let a waiter
	// of this user on.
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()
}
