package lease

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/errkind"
)

// waiter is a request waiting for a capacity slot.
type waiter struct {
	seq      uint64
	priority int
	key      string
	req      Request
	since    time.Time
	granted  chan struct{} // closed when a slot is assigned to it
	reason   string        // why it still waits
}

// Waiting describes one queued request, for `bmsched leases --waiting`:
// the answer's own type, built here where the queue is known.
type Waiting = api.Waiting

// admit takes a capacity slot for req, waiting up to req.Wait in the
// queue. Every request goes through the queue, so that a new request can
// never overtake one that waits. waited reports that it had to wait.
func (s *Scheduler) admit(ctx context.Context, req Request) (waited bool, err error) {
	w := &waiter{
		priority: req.Priority,
		key:      machineKey(req.Volume, req.Machine),
		req:      req,
		since:    time.Now(),
		granted:  make(chan struct{}),
	}
	s.mu.Lock()
	s.arrival++
	w.seq = s.arrival
	s.queue = append(s.queue, w)
	sort.SliceStable(s.queue, func(i, j int) bool {
		a, b := s.queue[i], s.queue[j]
		if a.priority != b.priority {
			return a.priority > b.priority
		}
		return a.seq < b.seq
	})
	s.dispatchLocked()
	select {
	case <-w.granted:
		s.mu.Unlock()
		return false, nil
	default:
	}
	if req.Wait <= 0 {
		s.removeLocked(w)
		reason := w.reason
		s.mu.Unlock()
		return false, errkind.Errorf(errkind.NoCapacity, "no capacity for %s/%s: %s; retry later or wait with --wait DUR", req.Volume, req.Machine, reason)
	}
	s.mu.Unlock()

	timer := time.NewTimer(req.Wait)
	defer timer.Stop()
	var cause string
	select {
	case <-w.granted:
		return true, nil
	case <-timer.C:
		cause = fmt.Sprintf("waited %s", req.Wait)
	case <-ctx.Done():
		cause = "the client went away"
	case <-s.stop:
		cause = "the daemon is shutting down"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.granted:
		// Granted just as the wait ended: give the slot back.
		s.freeSlotLocked(w.key)
	default:
		s.removeLocked(w)
	}
	return true, errkind.Errorf(errkind.NoCapacity, "no capacity for %s/%s: %s (%s); retry later or wait longer with --wait DUR", req.Volume, req.Machine, w.reason, cause)
}

// dispatchLocked grants slots to waiters in queue order. A waiter that
// cannot run yet because its machine is full still reserves a host slot,
// so that no later request overtakes it when its machine frees up.
func (s *Scheduler) dispatchLocked() {
	hostFree := -1 // unlimited
	if s.cfg.MaxLeases > 0 {
		hostFree = s.cfg.MaxLeases - s.total
	}
	taken := map[string]int{}
	kept := s.queue[:0]
	for _, w := range s.queue {
		// Reasons are worded for `leases --waiting`: what is full, by
		// which limit, and how many wait ahead (those still queued).
		machineFull := s.cfg.MaxPerMachine > 0 && s.used[w.key]+taken[w.key] >= s.cfg.MaxPerMachine
		machine := fmt.Sprintf("machine %s at capacity (%d of %d leases, serve --max-leases-per-machine", w.key, s.used[w.key], s.cfg.MaxPerMachine)
		if n := taken[w.key]; n > 0 {
			machine += fmt.Sprintf("; %d ahead wait for it too", n)
		}
		machine += ")"
		if hostFree == 0 {
			spare := ""
			if n := s.cfg.MaxLeases - s.total; n > 0 {
				spare = fmt.Sprintf("; %d free kept for requests ahead that wait for their machines", n)
			}
			w.reason = fmt.Sprintf("host at capacity (%d of %d leases, serve --max-leases%s)", s.total, s.cfg.MaxLeases, spare)
			if machineFull {
				w.reason += ", and " + machine
			}
			w.reason += fmt.Sprintf("; %d ahead in the queue", len(kept))
			kept = append(kept, w)
			continue
		}
		if hostFree > 0 {
			hostFree--
		}
		if machineFull {
			w.reason = machine
			taken[w.key]++ // later requests for this machine wait behind it
			kept = append(kept, w)
			continue
		}
		s.used[w.key]++
		s.total++
		close(w.granted)
	}
	for i := len(kept); i < len(s.queue); i++ {
		s.queue[i] = nil
	}
	s.queue = kept
}

func (s *Scheduler) removeLocked(w *waiter) {
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	// The waiter may have been holding back requests behind it.
	s.dispatchLocked()
}

// freeSlotLocked returns a slot and lets the queue move.
func (s *Scheduler) freeSlotLocked(key string) {
	s.used[key]--
	if s.used[key] <= 0 {
		delete(s.used, key)
	}
	s.total--
	s.dispatchLocked()
}

// Waiting lists the queued requests in service order.
func (s *Scheduler) Waiting() []Waiting {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Waiting, 0, len(s.queue))
	for i, w := range s.queue {
		out = append(out, Waiting{
			Position: i + 1, Volume: w.req.Volume, Machine: w.req.Machine, Toolchain: w.req.Toolchain,
			Priority: w.priority, Since: w.since, UID: w.req.UID, Label: w.req.Label, Reason: w.reason,
		})
	}
	return out
}
