package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bmsched/bmsched/internal/db"
)

// EndVanished ends the leases of a machine whose snapshots are gone from
// disk: deleted by hand, or with the whole machine directory. The daemon
// calls it after each rescan of the machine. Nothing is deleted: there is
// nothing left of ours to delete, and whatever may since have taken the
// snapshot's name is not ours. It returns how many leases it ended.
//
// A creating lease has no snapshot at its path yet and is not looked at.
// A releasing lease that no end is working on (its delete failed and
// waits for a retry) is ended as soon as its snapshot is gone.
func (s *Scheduler) EndVanished(volume, machine string) int {
	key := machineKey(volume, machine)
	s.mu.Lock()
	var ids []uint64
	for id, e := range s.live {
		if e.key == key && !e.creating && e.ending == nil {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	n := 0
	for _, id := range ids {
		ended, err := s.endVanished(id)
		if err != nil {
			s.log.Error("end lease whose snapshot vanished", "lease", id, "err", err)
			continue
		}
		if ended {
			n++
		}
	}
	return n
}

func (s *Scheduler) endVanished(id uint64) (bool, error) {
	l, ok, err := s.db.Lease(id)
	if err == nil && ok && l.State == db.LeaseReleasing {
		if _, err := os.Lstat(l.Path); !errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		how, err := s.endLease(l, "watch", "lease-released", "its snapshot is gone")
		return how != endedElsewhere, err
	}
	if err != nil || !ok || !vanished(l) {
		return false, err
	}
	// Claim the end as endLease does, so that a release or the reaper
	// racing this waits for it instead of logging a second end.
	s.mu.Lock()
	e := s.live[id]
	if e == nil || e.creating || e.ending != nil {
		s.mu.Unlock()
		return false, nil
	}
	done := make(chan struct{})
	e.ending = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		close(done)
		e.ending = nil
		s.mu.Unlock()
	}()
	// Read again under the claim: an end that finished between the first
	// read and the claim has dropped the record already.
	if l, ok, err = s.db.Lease(id); err != nil || !ok || !vanished(l) {
		return false, err
	}
	if err := s.db.EndLease(id, db.Event{Source: "watch", Kind: "lease-vanished", Volume: l.Volume, Machine: l.Machine, Lease: id,
		Message: fmt.Sprintf("lease %d ended: its snapshot %s vanished", id, l.Path)}); err != nil {
		return false, fmt.Errorf("end lease %d: %w", id, err)
	}
	s.forget(id)
	return true, nil
}

// vanished reports whether l is an active or held lease whose snapshot is
// no longer there. Any answer from lstat but "does not exist" counts as
// there: a lease is never ended on a guess.
func vanished(l db.Lease) bool {
	if l.State != db.LeaseActive && l.State != db.LeaseHeld {
		return false
	}
	_, err := os.Lstat(l.Path)
	return errors.Is(err, fs.ErrNotExist)
}
