package lease

import (
	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
)

// reserveUser takes one of uid's lease places under Config.MaxPerUser,
// counting its leases that are not ending and its acquires under way, so
// that one user cannot take every slot of the host. Root is not limited.
// done gives the place back once the acquire has failed or its lease is
// in the database.
func (s *Scheduler) reserveUser(uid uint32) (done func(), err error) {
	max := s.cfg.MaxPerUser
	if max <= 0 || uid == 0 {
		return func() {}, nil
	}
	// Held across the count, so that two acquires of one user cannot both
	// see the last free place.
	s.userMu.Lock()
	defer s.userMu.Unlock()
	ls, err := s.db.Leases()
	if err != nil {
		return nil, err
	}
	n := s.userAcquiring[uid]
	for _, l := range ls {
		if l.Owner.UID == uid && l.State != db.LeaseReleasing {
			n++
		}
	}
	if n >= max {
		return nil, api.Errorf(api.ExitNoCapacity, "uid %d already holds %d leases, the most one user may (serve --max-leases-per-user %d); release one first (`bmsched leases` lists them)", uid, n, max)
	}
	s.userAcquiring[uid]++
	return func() {
		s.userMu.Lock()
		defer s.userMu.Unlock()
		if s.userAcquiring[uid]--; s.userAcquiring[uid] <= 0 {
			delete(s.userAcquiring, uid)
		}
	}, nil
}
