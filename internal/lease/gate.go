package lease

import (
	"github.com/bmsched/bmsched/internal/errkind"
)

// CloseGate refuses new acquires on one machine until OpenGate: the first
// step of a delete, and of gc's sweep of a machine. Acquires already
// past the gate are counted by InUse, so a caller that sees nothing in
// use is sure that nothing is on its way. Closes nest: each needs its
// OpenGate.
func (s *Scheduler) CloseGate(volume, machine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		s.closed = map[string]int{}
	}
	s.closed[machineKey(volume, machine)]++
}

// OpenGate undoes one CloseGate.
func (s *Scheduler) OpenGate(volume, machine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := machineKey(volume, machine)
	if s.closed[key] <= 1 {
		delete(s.closed, key)
		return
	}
	s.closed[key]--
}

// enter passes an admitted acquire through the machine's gate and counts
// it as in flight until leave.
func (s *Scheduler) enter(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed[key] > 0 {
		return errkind.Errorf(errkind.Refused, "machine %s is not active: `bmsched delete` (or gc) is clearing it; retry later", key)
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

// InUse lists what holds a machine: its leases, of any state (a
// releasing one until its snapshot is deleted), and the acquires under
// way.
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
