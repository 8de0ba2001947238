package db

import (
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// groupCommit shares one write transaction, and so one pair of fsyncs,
// among the callers that arrive while a commit is under way. Unlike
// bbolt's Batch it never waits for company: an idle database commits a
// lone caller at once, and callers pile up only behind a commit that is
// already paying its fsyncs.
type groupCommit struct {
	mu      sync.Mutex
	pending []*commitCall
	leading bool   // a goroutine is committing; newcomers join the next round
	rounds  uint64 // shared transactions committed, for tests and stats
}

type commitCall struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan struct{}
}

// batch runs fn in a write transaction shared with concurrent callers.
// As with bbolt's Batch, fn may run more than once (when another
// function of its round fails, the round is rolled back and each is run
// alone), so it must only touch the transaction.
func (d *DB) batch(fn func(*bolt.Tx) error) error {
	c := &commitCall{fn: fn, done: make(chan struct{})}
	g := &d.group
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.leading {
		g.mu.Unlock()
		<-c.done
		return c.err
	}
	d.lead()
	<-c.done
	return c.err
}

// batchLater is batch for work that may wait: fn joins the next shared
// transaction, whoever leads it, and is committed alone only if none
// comes within linger. So the ends the background deleter commits ride
// on the commits of the acquires and releases around them.
func (d *DB) batchLater(fn func(*bolt.Tx) error, linger time.Duration) error {
	c := &commitCall{fn: fn, done: make(chan struct{})}
	g := &d.group
	g.mu.Lock()
	g.pending = append(g.pending, c)
	g.mu.Unlock()
	t := time.NewTimer(linger)
	defer t.Stop()
	select {
	case <-c.done:
		return c.err
	case <-t.C:
	}
	g.mu.Lock()
	if g.leading || !slices.Contains(g.pending, c) {
		// A round under way has it, or will take it before it stops.
		g.mu.Unlock()
	} else {
		d.lead()
	}
	<-c.done
	return c.err
}

// lead commits rounds until none is pending. g.mu is held on entry and
// released on return.
func (d *DB) lead() {
	g := &d.group
	g.leading = true
	for len(g.pending) > 0 {
		round := g.pending
		g.pending = nil
		g.rounds++
		g.mu.Unlock()
		d.commitRound(round)
		g.mu.Lock()
	}
	g.leading = false
	g.mu.Unlock()
}

func (d *DB) commitRound(round []*commitCall) {
	failed := -1
	err := d.update(func(tx *bolt.Tx) error {
		for i, c := range round {
			if err := c.fn(tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if failed < 0 {
		// Success, or a commit failure that every caller shares.
		for _, c := range round {
			c.err = err
			close(c.done)
		}
		return
	}
	// One function failed: it alone gets its error; the rest run alone.
	for _, c := range round {
		c.err = d.update(c.fn)
		close(c.done)
	}
}
