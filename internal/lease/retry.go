package lease

import (
	"fmt"
	"time"

	"github.com/bmsched/bmsched/internal/db"
)

// A snapshot whose delete fails (something mounted inside it, a read-only
// remount, an immutable flag) keeps its lease releasing: the lease still
// holds its slot and still counts in a delete's drain, so it must not be
// left for the next restart. The reaper tries again, each pause twice the
// last up to retryMax, and the watcher ends the lease at once when the
// snapshot goes some other way.
const (
	retryFirst = time.Second
	retryMax   = time.Minute
)

// nextBackoff is the pause after one that lasted d.
func nextBackoff(d time.Duration) time.Duration {
	if d <= 0 {
		return retryFirst
	}
	return min(2*d, retryMax)
}

// deleteFailed records why the end of lease l waits and has the reaper try
// again. A lease that is not in memory (recovery found it releasing) is
// loaded, holding its slot until it ends.
func (s *Scheduler) deleteFailed(l db.Lease, cause error) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.ReleaseFailed(l.ID, cause)
	}
	msg := cause.Error()
	if l.LastError != msg {
		// An event only when the reason changes: a delete that fails the
		// same way every minute must not flood the bounded log.
		ev := db.Event{Source: "lease", Kind: "lease-release-failed", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
			Message: fmt.Sprintf("lease %d stays releasing, its delete retried: %s", l.ID, msg)}
		if _, _, err := s.db.UpdateLease(l.ID, func(l *db.Lease) { l.LastError = msg }, ev); err != nil {
			s.log.Error("record why a release waits", "lease", l.ID, "err", err)
		}
	}
	s.mu.Lock()
	e := s.live[l.ID]
	if e == nil {
		e = &entry{id: l.ID, key: machineKey(l.Volume, l.Machine), counted: true}
		s.live[l.ID] = e
		s.used[e.key]++
		s.total++
	}
	e.backoff = nextBackoff(e.backoff)
	e.retry = time.Now().Add(e.backoff)
	s.mu.Unlock()
	s.log.Warn("release waits: its snapshot could not be deleted", "lease", l.ID, "retry_in", e.backoff, "err", cause)
	s.wakeReaper()
}
