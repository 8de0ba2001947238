package lease

import (
	"fmt"
	"time"

	"github.com/bmsched/bmsched/internal/db"
)

// reaper ends leases whose TTL ran out and deletes snapshots whose hold
// ended. It sleeps until the earliest deadline, woken early when leases
// change.
func (s *Scheduler) reaper() {
	defer s.done.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.reapDue(time.Now())
		d := time.Hour
		if !next.IsZero() {
			d = time.Until(next)
		}
		timer.Reset(d)
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-timer.C:
		}
	}
}

// due is a lease whose deadline has come: how it ends, and why.
type due struct {
	id   uint64
	kind string
	why  string
}

// dueOf returns the deadline of a lease in memory, and what ending it
// then means; a zero deadline when it has none.
func dueOf(e *entry) (deadline time.Time, d due) {
	switch {
	case !e.retry.IsZero():
		// A failed delete: its retry comes before any hold or expiry.
		return e.retry, due{e.id, "lease-released", "its snapshot's delete succeeded on a retry"}
	case !e.holdUntil.IsZero():
		return e.holdUntil, due{e.id, "lease-hold-ended", "hold ended"}
	case !e.expires.IsZero():
		return e.expires, due{e.id, "lease-expired", fmt.Sprintf("expired at %s", e.expires.Format(time.RFC3339))}
	}
	return time.Time{}, due{}
}

// reapDue ends every lease past its deadline and returns the next deadline.
func (s *Scheduler) reapDue(now time.Time) (next time.Time) {
	var todo []due
	s.mu.Lock()
	for _, e := range s.live {
		if e.creating || e.ending != nil {
			continue // its acquire or its end decides
		}
		deadline, d := dueOf(e)
		switch {
		case deadline.IsZero():
		case !now.Before(deadline):
			todo = append(todo, d)
		case next.IsZero() || deadline.Before(next):
			next = deadline
		}
	}
	s.mu.Unlock()
	for _, d := range todo {
		l, ok, err := s.db.Lease(d.id)
		if err != nil {
			s.log.Error("reap lease", "lease", d.id, "err", err)
			continue
		}
		if !ok {
			s.forget(d.id)
			continue
		}
		if !stillDue(l, d.kind, now) {
			// Held or renewed meanwhile: the memory is catching up, and
			// wakes the reaper when it has.
			continue
		}
		if _, err := s.endLease(l, endEvent(l, "reaper", d.kind, d.why)); err != nil {
			s.log.Error("reap lease", "lease", d.id, "err", err)
			// Try again soon rather than at once in a loop.
			retry := now.Add(5 * time.Second)
			if next.IsZero() || retry.Before(next) {
				next = retry
			}
		}
	}
	return next
}

// stillDue checks a deadline found in memory against the record, which a
// renew or a hold may have changed a moment ago.
func stillDue(l db.Lease, kind string, now time.Time) bool {
	switch {
	case l.State == db.LeaseReleasing:
		return true // finish it
	case kind == "lease-hold-ended":
		return l.State == db.LeaseHeld && l.HoldUntil != nil && !now.Before(*l.HoldUntil)
	default:
		return l.State == db.LeaseActive && l.Expires != nil && !now.Before(*l.Expires)
	}
}
