package lease

import (
	"strings"

	"github.com/bmsched/bmsched/internal/db"
)

// Observer hears what the scheduler does that an operator watches: the
// daemon's metrics and status. Its methods are called after the fact,
// outside the scheduler's lock, and must not block.
type Observer interface {
	// LeaseEnded is told of each lease record ended, with the reason
	// (EndReason of its event's kind).
	LeaseEnded(reason string)
	// ReleaseFailed is told of each snapshot delete that failed, leaving
	// its lease releasing.
	ReleaseFailed(id uint64, err error)
}

// EndReason names why a lease ended, from the kind of the event its end
// recorded: "lease-expired" is "expired", and a lease ended because its
// volume's filesystem was replaced is "volume-replaced".
func EndReason(kind string) string {
	if kind == "lease-ended" {
		return "volume-replaced"
	}
	return strings.TrimPrefix(kind, "lease-")
}

// endInDB ends a lease's record with its event, and tells the observer.
func (s *Scheduler) endInDB(id uint64, ev db.Event) error {
	return s.ended(s.db.EndLease(id, ev), ev)
}

// endKeptInDB is endInDB for a lease whose snapshot was out of sight and
// is not deleted (db.EndLeaseKept).
func (s *Scheduler) endKeptInDB(id uint64, ev db.Event) error {
	return s.ended(s.db.EndLeaseKept(id, ev), ev)
}

func (s *Scheduler) ended(err error, ev db.Event) error {
	if err != nil {
		return err
	}
	s.told(ev.Kind)
	return nil
}

// told tells the observer of a lease record ended by an end of kind.
func (s *Scheduler) told(kind string) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.LeaseEnded(EndReason(kind))
	}
}
