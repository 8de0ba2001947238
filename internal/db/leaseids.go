package db

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lease ids are reserved in blocks: the leases bucket's sequence is the
// highest id reserved, moved by one commit per block, and a lease is
// committed once, under an id of its block (InsertLease). The issued
// mark (keyLeaseIssued) is the highest id known handed out whose record
// is gone: every end raises it in the commit that drops the record, so
// that after a restart ids go on from max(issued mark, live records) and
// the rest of a block is not lost, while no id that a client may have
// seen is handed out again.
var keyLeaseIssued = []byte("lease_issued")

// LeaseIDs returns the issued mark and the reserved mark. A database
// from before reserved blocks has no issued mark: its sequence was the
// highest id handed out, and is the mark.
func (d *DB) LeaseIDs() (issued, reserved uint64, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		issued, reserved = leaseMarks(tx)
		return nil
	})
	return issued, reserved, err
}

func leaseMarks(tx *bolt.Tx) (issued, reserved uint64) {
	reserved = tx.Bucket(bucketLeases).Sequence()
	v := tx.Bucket(bucketMeta).Get(keyLeaseIssued)
	if len(v) != 8 {
		return reserved, reserved
	}
	return binary.BigEndian.Uint64(v), reserved
}

// raiseIssued makes the issued mark at least id.
func raiseIssued(tx *bolt.Tx, id uint64) error {
	issued, _ := leaseMarks(tx)
	if tx.Bucket(bucketMeta).Get(keyLeaseIssued) != nil && issued >= id {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyLeaseIssued, u64(max(issued, id)))
}

// ReserveLeaseIDs reserves the ids first to last in one commit, and
// returns the block it reserved: it starts above the reserved mark
// should that have moved past first (an adoption takes the next id), and
// is never empty.
func (d *DB) ReserveLeaseIDs(first, last uint64) (gotFirst, gotLast uint64, err error) {
	err = d.update(func(tx *bolt.Tx) error {
		issued, reserved := leaseMarks(tx)
		// Written before the sequence moves past what it meant.
		if err := raiseIssued(tx, issued); err != nil {
			return err
		}
		gotFirst = max(first, reserved+1)
		gotLast = max(last, gotFirst)
		return tx.Bucket(bucketLeases).SetSequence(gotLast)
	})
	return gotFirst, gotLast, err
}

// InsertLease commits a new lease under the id it carries, which a
// reserved block gave it, with the events given, in a shared commit.
func (d *DB) InsertLease(l Lease, events ...Event) error {
	return d.batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		if l.ID == 0 || l.ID > b.Sequence() {
			return fmt.Errorf("insert lease %d: the id was not reserved (reserved up to %d): run `bmsched db check`", l.ID, b.Sequence())
		}
		if b.Get(u64(l.ID)) != nil {
			return fmt.Errorf("insert lease %d: the id is taken by a lease already: run `bmsched db check`", l.ID)
		}
		if err := d.putLease(tx, &l); err != nil {
			return err
		}
		return d.appendEvents(tx, append([]Event(nil), events...))
	})
}

// LeaseEnd is one lease record to end, with its events.
type LeaseEnd struct {
	ID     uint64
	Events []Event
}

// EndLeases deletes several lease records with their events in one
// shared commit: how the background deleter ends what it deleted. The
// commit is the next one of any caller within linger (0: now), so that
// an end costs no commit of its own on a busy host.
func (d *DB) EndLeases(ends []LeaseEnd, linger time.Duration) error {
	return d.batchLater(func(tx *bolt.Tx) error {
		for _, e := range ends {
			if err := d.deleteLease(tx, e.ID); err != nil {
				return err
			}
			if err := d.appendEvents(tx, append([]Event(nil), e.Events...)); err != nil {
				return err
			}
		}
		return nil
	}, linger)
}
