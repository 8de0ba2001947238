package watch

import (
	"slices"
	"sync"
	"time"
)

// target names what a rescan covers: one machine directory, or with both
// fields empty, everything.
type target struct{ volume, machine string }

var everything = target{}

// slot is the debounce state of one target. A target is in at most one of
// three phases: armed (timer set), queued (waiting for a worker) or
// running; dirty marks events that arrived while it ran, which the
// finished scan may not have seen.
type slot struct {
	gen      uint64 // identifies the current timer; older timers are ignored
	timer    *time.Timer
	deadline time.Time // when the armed timer fires
	first    time.Time // first event not yet covered by a scan
	last     time.Time // latest event
	queued   bool
	running  bool
	dirty    bool
	settle   int      // look-agains done since the last event
	reasons  []string // why everything is rescanned
	// entries are the names in a machine directory that the events were
	// about, so that the owner can tell its own changes from others';
	// whole means the directory itself, or more names than are kept.
	entries []string
	whole   bool
	// urgent puts the target in the priority lane: no debounce, and
	// ahead of every other queued target.
	urgent bool
}

// maxReasons bounds the reasons kept for one pending rescan: they are for
// the log, and a flood must not grow them without end. maxEntries bounds
// the entry names the same way, past which the whole directory is looked
// at; it is well above what 16 workers' acquires and releases name in the
// longest a target waits (MaxDelay), so that churn stays named.
const (
	maxReasons = 8
	maxEntries = 512
)

// queue coalesces the watcher's requests per target and hands them to a
// few workers. Coalescing is what keeps a burst of thousands of events in
// one directory down to one or two scans, and the per-target phases are
// what keep two scans of one directory from ever running at once.
//
// Urgent targets (a current link switched) skip the debounce, go to the
// front, and have a worker of their own, so that neither snapshot churn
// nor a full rescan holds up the one change that builds wait on.
type queue struct {
	debounce time.Duration   // quiet time after the last event before scanning
	maxDelay time.Duration   // a steady trickle of events still scans this often
	settle   []time.Duration // look-again delays for a target still settling
	// run scans t: notes are the reasons for everything, or the entries
	// changed in a machine directory (nil for all of it).
	run func(t target, notes []string) (unsettled bool)

	mu     sync.Mutex
	cond   *sync.Cond
	slots  map[target]*slot
	ready  []target
	urgent []target // the priority lane, served first
	closed bool
	wg     sync.WaitGroup
}

func newQueue(debounce, maxDelay time.Duration, settle []time.Duration, run func(target, []string) bool) *queue {
	q := &queue{debounce: debounce, maxDelay: maxDelay, settle: settle, run: run, slots: map[target]*slot{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// touch records an event for t that is about all of it: everything, for
// reason, or a machine directory that came or went (reason "").
func (q *queue) touch(t target, reason string) {
	q.record(t, false, func(s *slot) {
		if reason != "" && len(s.reasons) < maxReasons && !slices.Contains(s.reasons, reason) {
			s.reasons = append(s.reasons, reason)
		}
		s.whole, s.entries = true, nil
	})
}

// touchEntry records an event about the entry name of the machine
// directory t; urgent puts t in the priority lane.
func (q *queue) touchEntry(t target, name string, urgent bool) {
	q.record(t, urgent, func(s *slot) {
		switch {
		case s.whole || slices.Contains(s.entries, name):
		case len(s.entries) == maxEntries:
			s.whole, s.entries = true, nil
		default:
			s.entries = append(s.entries, name)
		}
	})
}

// record notes an event for t: it is scanned once no event came for the
// debounce time, and no later than maxDelay after its first event (at
// once when urgent). An event costs a map lookup: the timer is only moved
// when it must fire earlier than it is set to, and otherwise checks again
// when it fires.
func (q *queue) record(t target, urgent bool, note func(*slot)) {
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	s := q.slots[t]
	if s == nil {
		s = &slot{}
		q.slots[t] = s
	}
	note(s)
	s.settle = 0
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	promote := urgent && !s.urgent
	s.urgent = s.urgent || urgent
	switch {
	case s.running:
		s.dirty = true
	case s.queued:
		// The scan has not started: it will see this event, from the
		// priority lane if it must.
		if promote {
			q.ready = slices.DeleteFunc(q.ready, func(x target) bool { return x == t })
			q.urgent = append(q.urgent, t)
			q.cond.Broadcast()
		}
	default:
		if due := q.dueLocked(s); s.timer == nil || due.Before(s.deadline) {
			q.armLocked(t, s, due)
		}
	}
}

// dueLocked is when s should be scanned given the events it has seen.
func (q *queue) dueLocked(s *slot) time.Time {
	if s.urgent {
		return s.last
	}
	due := s.last.Add(q.debounce)
	if limit := s.first.Add(q.maxDelay); limit.Before(due) {
		due = limit
	}
	return due
}

// armLocked sets t's timer to fire at deadline. A timer is never reset in
// place: a stale one that already fired must not queue the target twice.
func (q *queue) armLocked(t target, s *slot, deadline time.Time) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.gen++
	gen := s.gen
	s.deadline = deadline
	s.timer = time.AfterFunc(max(time.Until(deadline), 0), func() { q.fire(t, s, gen) })
}

func (q *queue) fire(t target, s *slot, gen uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.slots[t] != s || s.gen != gen || s.queued || s.running {
		return
	}
	if !s.first.IsZero() {
		if due := q.dueLocked(s); time.Now().Before(due) {
			q.armLocked(t, s, due) // events came since it was set
			return
		}
	}
	s.timer = nil
	s.queued = true
	if s.urgent {
		q.urgent = append(q.urgent, t)
		// Both the lane's own worker and the others may take it.
		q.cond.Broadcast()
		return
	}
	q.ready = append(q.ready, t)
	q.cond.Broadcast()
}

// start runs n workers, and one more for the priority lane alone;
// requests made before are queued, not lost.
func (q *queue) start(n int) {
	for i := range n + 1 {
		q.wg.Add(1)
		go q.worker(i == n)
	}
}

// worker scans queued targets until the queue closes: urgent ones first,
// and with lane set, only those.
func (q *queue) worker(lane bool) {
	defer q.wg.Done()
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		t, ok := q.nextLocked(lane)
		if !ok {
			return
		}
		s := q.slots[t]
		s.queued, s.running, s.dirty = false, true, false
		s.first, s.last = time.Time{}, time.Time{}
		notes := s.reasons
		if t != everything {
			notes = s.entries
			if s.whole || len(notes) == 0 {
				notes = nil // all of it, or a look-again
			}
		}
		s.reasons, s.entries, s.whole, s.urgent = nil, nil, false, false

		q.mu.Unlock()
		unsettled := q.run(t, notes)
		q.mu.Lock()

		s.running = false
		q.afterRunLocked(t, s, unsettled)
	}
}

// nextLocked waits for a queued target, taking it off its list; false
// once the queue is closed.
func (q *queue) nextLocked(lane bool) (target, bool) {
	for !q.closed {
		if len(q.urgent) > 0 {
			t := q.urgent[0]
			q.urgent = q.urgent[1:]
			return t, true
		}
		if !lane && len(q.ready) > 0 {
			t := q.ready[0]
			q.ready = q.ready[1:]
			return t, true
		}
		q.cond.Wait()
	}
	return target{}, false
}

// afterRunLocked decides what comes of a finished scan of t: another for
// the events it may have missed, a look-again, or nothing.
func (q *queue) afterRunLocked(t target, s *slot, unsettled bool) {
	switch {
	case q.closed:
	case s.dirty:
		q.armLocked(t, s, q.dueLocked(s))
	case unsettled && s.settle < len(q.settle):
		// Nothing will tell us when it settles (the read-only flag
		// raises no event): look again, less and less often.
		q.armLocked(t, s, time.Now().Add(q.settle[s.settle]))
		s.settle++
	default:
		delete(q.slots, t)
	}
}

// close stops the timers and the workers, waiting for the scans under
// way; what is still pending is dropped.
func (q *queue) close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	for _, s := range q.slots {
		if s.timer != nil {
			s.timer.Stop()
		}
	}
	q.cond.Broadcast()
	q.mu.Unlock()
	q.wg.Wait()
}
