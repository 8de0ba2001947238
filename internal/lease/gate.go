package lease

import (
	"github.com/bmsched/bmsched/internal/api"
)

// Close refuses new acquires on a machine until Reopen: the first step of
// a delete. Acquires already past the gate are counted by InUse, so a
// delete that sees nothing in use is sure that nothing is on its way.
func (s *Scheduler) Close(volume, machine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		s.closed = map[string]bool{}
	}
	s.closed[machineKey(volume, machine)] = true
}

// Reopen lets acquires on a machine through again.
func (s *Scheduler) Reopen(volume, machine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.closed, machineKey(volume, machine))
}

// enter passes an admitted acquire through the machine's gate and counts
// it as in flight until leave.
func (s *Scheduler) enter(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed[key] {
		return api.Errorf(api.ExitRefused, "machine %s is not active: `bmsched delete` is draining it", key)
	}
	if s.inflight == nil {
		s.inflight = map[string]int{}
	}
	s.inflight[key]++
	return nil
}

func (s *Scheduler) leave(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[key]--
	if s.inflight[key] <= 0 {
		delete(s.inflight, key)
	}
	s.notifyLocked()
}

// InUse lists what holds a machine: its leases, of any state, and the
// acquires under way.
func (s *Scheduler) InUse(volume, machine string) (leases []uint64, inflight int) {
	key := machineKey(volume, machine)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.live {
		if e.key == key {
			leases = append(leases, id)
		}
	}
	return leases, s.inflight[key]
}
