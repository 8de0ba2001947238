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
}

// maxReasons bounds the reasons kept for one pending rescan: they are for
// the log, and a flood must not grow them without end.
const maxReasons = 8

// queue coalesces the watcher's requests per target and hands them to a
// few workers. Coalescing is what keeps a burst of thousands of events in
// one directory down to one or two scans, and the per-target phases are
// what keep two scans of one directory from ever running at once.
type queue struct {
	debounce time.Duration   // quiet time after the last event before scanning
	maxDelay time.Duration   // a steady trickle of events still scans this often
	settle   []time.Duration // look-again delays for a target still settling
	run      func(t target, reasons []string) (unsettled bool)

	mu     sync.Mutex
	cond   *sync.Cond
	slots  map[target]*slot
	ready  []target
	closed bool
	wg     sync.WaitGroup
}

func newQueue(debounce, maxDelay time.Duration, settle []time.Duration, run func(target, []string) bool) *queue {
	q := &queue{debounce: debounce, maxDelay: maxDelay, settle: settle, run: run, slots: map[target]*slot{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// touch records an event for t: it is scanned once no event came for the
// debounce time, and no later than maxDelay after its first event. An
// event costs a map lookup: the timer is only moved when it must fire
// earlier than it is set to, and otherwise checks again when it fires.
func (q *queue) touch(t target, reason string) {
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
	if reason != "" && len(s.reasons) < maxReasons && !slices.Contains(s.reasons, reason) {
		s.reasons = append(s.reasons, reason)
	}
	s.settle = 0
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	switch {
	case s.running:
		s.dirty = true
	case s.queued:
		// The scan has not started: it will see this event.
	default:
		if due := q.dueLocked(s); s.timer == nil || due.Before(s.deadline) {
			q.armLocked(t, s, due)
		}
	}
}

// dueLocked is when s should be scanned given the events it has seen.
func (q *queue) dueLocked(s *slot) time.Time {
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
	q.ready = append(q.ready, t)
	q.cond.Signal()
}

// start runs n workers; requests made before are queued, not lost.
func (q *queue) start(n int) {
	for range n {
		q.wg.Add(1)
		go q.worker()
	}
}

func (q *queue) worker() {
	defer q.wg.Done()
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.ready) == 0 && !q.closed {
			q.cond.Wait()
		}
		if q.closed {
			return
		}
		t := q.ready[0]
		q.ready = q.ready[1:]
		s := q.slots[t]
		s.queued, s.running, s.dirty = false, true, false
		s.first, s.last = time.Time{}, time.Time{}
		reasons := s.reasons
		s.reasons = nil

		q.mu.Unlock()
		unsettled := q.run(t, reasons)
		q.mu.Lock()

		s.running = false
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
