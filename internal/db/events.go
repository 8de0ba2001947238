package db

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AppendEvents records events in their own transaction.
func (d *DB) AppendEvents(events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	return d.update(func(tx *bolt.Tx) error { return d.appendEvents(tx, events) })
}

// appendEvents numbers and stores events, then drops the oldest beyond
// maxEvents. Keys are sequential, so the cut is a short cursor walk from
// the front rather than a count.
func (d *DB) appendEvents(tx *bolt.Tx, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	// Followers are woken once the events can be read, not before; a
	// transaction that is rolled back (or a Batch function run again)
	// wakes nobody.
	tx.OnCommit(d.appended.Notify)
	b := tx.Bucket(bucketEvents)
	var last uint64
	for i := range events {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e := &events[i]
		e.Seq = seq
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		buf, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), buf); err != nil {
			return err
		}
		last = seq
	}
	if last <= d.maxEvents {
		return nil
	}
	cut := last - d.maxEvents
	c := b.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= cut; k, _ = c.Next() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Events returns up to limit events with a sequence number above after, oldest first.
func (d *DB) Events(after uint64, limit int) ([]Event, error) {
	var es []Event
	err := d.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && (limit <= 0 || len(es) < limit); k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			es = append(es, e)
		}
		return nil
	})
	return es, err
}

// LastEvents returns the newest n events, oldest first.
func (d *DB) LastEvents(n int) ([]Event, error) {
	var es []Event
	err := d.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Last(); k != nil && len(es) < n; k, v = c.Prev() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			es = append(es, e)
		}
		return nil
	})
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es, err
}

// EventsAppended returns a channel that is closed when the next commit
// that appends events is done. A follower takes it before reading the
// newest events and then waits on it: nothing appended in between can be
// missed, and nobody polls.
func (d *DB) EventsAppended() <-chan struct{} { return d.appended.Wait() }
