package db

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Followers are woken by commits that append events, and only once those
// events can be read.
func TestEventsAppendedWakesFollowers(t *testing.T) {
	d := openTemp(t)
	ch := d.EventsAppended()
	if closed(ch) {
		t.Fatal("closed before any event")
	}
	// A commit without events wakes nobody.
	if err := d.UpdateMachine("v", "m", func(*Machine) (*Machine, []Event, error) {
		return &Machine{Volume: "v", Name: "m"}, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if closed(ch) {
		t.Fatal("woken by a commit that appended no event")
	}
	// Nor does a transaction that is rolled back.
	rollback := errors.New("rollback")
	err := d.bolt.Update(func(tx *bolt.Tx) error {
		if err := d.appendEvents(tx, []Event{{Kind: "lost"}}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) || closed(ch) {
		t.Fatalf("rolled back: err %v, woken %v", err, closed(ch))
	}
	if err := d.AppendEvents(Event{Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	if !closed(ch) {
		t.Fatal("not woken by an appended event")
	}
	es, err := d.Events(0, 0)
	if err != nil || len(es) != 1 || es[0].Kind != "k" {
		t.Fatalf("after the wake-up: %+v, %v; want the one event", es, err)
	}
	// A new wait needs a new event.
	if next := d.EventsAppended(); closed(next) {
		t.Fatal("the next wait is closed already")
	}
}
