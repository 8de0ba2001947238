package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/bmsched/bmsched/internal/db"
)

// The deleter deletes, after the answer, the snapshots of the leases that
// ended (set aside by endLease), and ends their records, several per
// commit. Until a lease's subvolume is gone the lease stays releasing:
// it keeps its capacity slot and counts in a delete's drain, so the
// deleter cannot fall behind unseen. A delete that fails is retried by
// the reaper with a growing pause (retry.go); Recover queues whatever
// a restart finds releasing.
type deleter struct {
	mu     sync.Mutex
	queued map[uint64]bool
	kick   chan struct{}
}

// queueDelete has the deleter delete lease id's snapshot and end it.
func (s *Scheduler) queueDelete(id uint64) {
	s.del.mu.Lock()
	s.del.queued[id] = true
	s.del.mu.Unlock()
	select {
	case s.del.kick <- struct{}{}:
	default:
	}
}

// takeQueued returns the queued ids, in order, and empties the queue.
func (s *Scheduler) takeQueued() []uint64 {
	s.del.mu.Lock()
	defer s.del.mu.Unlock()
	ids := make([]uint64, 0, len(s.del.queued))
	for id := range s.del.queued {
		ids = append(ids, id)
	}
	clear(s.del.queued)
	slices.Sort(ids)
	return ids
}

// deleterLoop runs the deleter until StopBackground.
func (s *Scheduler) deleterLoop() {
	defer s.done.Done()
	for {
		select {
		case <-s.stop:
			s.deleteQueued() // what was released before the stop
			return
		case <-s.del.kick:
		}
		s.deleteQueued()
	}
}

// deleteQueued deletes the snapshots of the queued leases and ends the
// ones deleted in one commit. Each is claimed meanwhile, so that an end
// racing it (a second release, the watcher) waits and finds it ended.
func (s *Scheduler) deleteQueued() {
	var ends []db.LeaseEnd
	var ended []db.Lease
	for _, id := range s.takeQueued() {
		done := s.claimEnd(id)
		defer done()
		l, ok, err := s.db.Lease(id)
		if err != nil || !ok || l.State != db.LeaseReleasing {
			if err != nil {
				s.log.Error("delete the snapshot of an ended lease", "lease", id, "err", err)
			} else if !ok {
				s.forget(id)
			}
			continue
		}
		gone, err := s.deleteSnapshot(l)
		if err != nil {
			s.deleteFailed(l, err)
			continue
		}
		ends = append(ends, db.LeaseEnd{ID: id, Events: deletedEvents(l, gone)})
		ended = append(ended, l)
	}
	if len(ends) == 0 {
		return
	}
	s.cfg.CrashAt.At("release-delete")
	if err := s.db.EndLeases(ends, s.endLinger()); err != nil {
		for _, l := range ended {
			s.deleteFailed(l, fmt.Errorf("end lease %d in database %s: %w", l.ID, s.db.Path(), err))
		}
		return
	}
	for _, l := range ended {
		s.told(l.Ending)
		s.forget(l.ID)
	}
}

// endLinger is how long the deleter's commit waits to ride on another
// (an acquire's, a release's): on a busy host an end then costs no
// commit of its own. Nothing waits on it unless a request waits for a
// slot or a delete or gc drains a machine; then it commits at once.
func (s *Scheduler) endLinger() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 || len(s.closed) > 0 {
		return 0
	}
	select {
	case <-s.stop:
		return 0
	default:
	}
	return maxEndLinger
}

// maxEndLinger bounds the wait of endLinger: about one CLI acquire+release
// cycle of a build worker.
const maxEndLinger = 50 * time.Millisecond

// deletedEvents are the events of the end of a releasing lease whose
// snapshot is gone: none when it went as planned, the end's event having
// been recorded when the lease ended.
func deletedEvents(l db.Lease, gone bool) []db.Event {
	ev := db.Event{Source: "lease", Kind: "lease-released", Volume: l.Volume, Machine: l.Machine, Lease: l.ID}
	switch {
	case gone && l.LastError != "":
		ev.Message = fmt.Sprintf("lease %d ended: its snapshot is gone", l.ID)
	case l.LastError != "":
		ev.Message = fmt.Sprintf("lease %d ended: its snapshot's delete succeeded on a retry", l.ID)
	default:
		return nil
	}
	return []db.Event{ev}
}

// deleteSnapshot deletes what is left of releasing lease l: its aside,
// or, when it ended with its volume out of sight (or before asides), the
// snapshot under its name if it is the lease's: an entry at the path
// without the lease's tag was put there by someone else after the
// snapshot went, and is kept. gone reports that it was gone already.
func (s *Scheduler) deleteSnapshot(l db.Lease) (gone bool, err error) {
	if !s.inv.Available(l.Volume) {
		// Not there to see: neither gone nor deletable until it is back.
		return false, fmt.Errorf("%w: %v", errUnavailable, s.inv.UnavailableError(l.Volume))
	}
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return false, err
	}
	path := l.Aside
	if path == "" {
		path = l.Path
		if !owns(drv, path, l.ID, l.Tag) {
			if there, _ := drv.Exists(path); there {
				s.log.Warn("snapshot path of a lease holds something else: kept", "lease", l.ID, "path", path)
			}
			return true, nil
		}
	}
	err = drv.Delete(s.bg, path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete snapshot of lease %d: %w (%s); meanwhile the lease stays releasing and bmsched retries the delete", l.ID, err, deleteHint(err))
	}
	return false, nil
}
