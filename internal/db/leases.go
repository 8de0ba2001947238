package db

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Leases returns every lease record, in id order.
func (d *DB) Leases() ([]Lease, error) {
	var ls []Lease
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLeases).ForEach(func(k, v []byte) error {
			var l Lease
			if err := decodeLease(k, v, &l); err != nil {
				return err
			}
			ls = append(ls, l)
			return nil
		})
	})
	return ls, err
}

// Lease returns one lease; ok is false when there is none.
func (d *DB) Lease(id uint64) (l Lease, ok bool, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		l, ok, err = getLease(tx, id)
		return err
	})
	return l, ok, err
}

func getLease(tx *bolt.Tx, id uint64) (l Lease, ok bool, err error) {
	v := tx.Bucket(bucketLeases).Get(u64(id))
	if v == nil {
		return l, false, nil
	}
	if err := json.Unmarshal(v, &l); err != nil {
		return l, false, fmt.Errorf("decode lease %d: %w", id, err)
	}
	return l, true, nil
}

// putLease stores l and notes it in the index of leases by machine.
func (d *DB) putLease(tx *bolt.Tx, l *Lease) error {
	buf, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketLeases).Put(u64(l.ID), buf); err != nil {
		return err
	}
	d.ix.note(indexChange{volume: l.Volume, name: l.Machine, lease: l.ID})
	return nil
}

// deleteLease drops a lease's record and notes it in the index; a lease
// that is gone already is not an error.
func (d *DB) deleteLease(tx *bolt.Tx, id uint64) error {
	l, ok, err := getLease(tx, id)
	if err != nil || !ok {
		return err
	}
	d.ix.note(indexChange{volume: l.Volume, name: l.Machine, lease: id, drop: true})
	// Its id stays known as handed out once the record is gone.
	if err := raiseIssued(tx, id); err != nil {
		return err
	}
	return tx.Bucket(bucketLeases).Delete(u64(id))
}

// CreateLease commits the intent of a new lease: it takes the next lease
// id (never reused), lets build fill the record for it, and stores it.
// Concurrent callers share a commit. build may run more than once, so it
// must do nothing but fill the record.
func (d *DB) CreateLease(build func(id uint64) Lease) (Lease, error) {
	var l Lease
	err := d.batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		if b.Get(u64(id)) != nil {
			// Never over a live record, whatever moved the counter.
			return fmt.Errorf("create lease: id %d is taken by a lease already (the counter is behind): run `bmsched db check`", id)
		}
		l = build(id)
		l.ID = id
		return d.putLease(tx, &l)
	})
	return l, err
}

// UpdateLease changes a stored lease in a shared commit and appends the
// events given. fn may run more than once; ok is false, and fn is not
// called, when the lease does not exist.
func (d *DB) UpdateLease(id uint64, fn func(l *Lease), events ...Event) (l Lease, ok bool, err error) {
	err = d.batch(func(tx *bolt.Tx) error {
		l, ok, err = getLease(tx, id)
		if err != nil || !ok {
			return err
		}
		was := indexChange{volume: l.Volume, name: l.Machine, lease: id, drop: true}
		fn(&l)
		// Records keep their machine, but should one move, its old index
		// entry must not stay behind.
		if was.volume != l.Volume || was.name != l.Machine {
			d.ix.note(was)
		}
		if err := d.putLease(tx, &l); err != nil {
			return err
		}
		return d.appendEvents(tx, append([]Event(nil), events...))
	})
	return l, ok, err
}

// EndLease deletes a lease record and appends the events given, in a
// shared commit. Ending a lease that is already gone is not an error.
func (d *DB) EndLease(id uint64, events ...Event) error {
	return d.batch(func(tx *bolt.Tx) error {
		if err := d.deleteLease(tx, id); err != nil {
			return err
		}
		return d.appendEvents(tx, append([]Event(nil), events...))
	})
}

// LeaseIssued reports whether id was ever handed out, so that releasing
// an ended lease can succeed while an id never issued is an error.
func (d *DB) LeaseIssued(id uint64) (issued bool, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		mark, _ := leaseMarks(tx)
		issued = id >= 1 && (id <= mark || tx.Bucket(bucketLeases).Get(u64(id)) != nil)
		return nil
	})
	return issued, err
}

// AdoptLease stores l, found on disk with no record, under the id want
// when no record has it, else under a new id; the counter is raised to
// cover want either way, so that want's name is never handed out again.
func (d *DB) AdoptLease(want uint64, l Lease, events ...Event) (Lease, error) {
	err := d.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		if b.Sequence() < want {
			if err := b.SetSequence(want); err != nil {
				return err
			}
		}
		l.ID = want
		if want == 0 || b.Get(u64(want)) != nil {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			l.ID = id
		}
		if err := d.putLease(tx, &l); err != nil {
			return err
		}
		if err := tx.Bucket(bucketKept).Delete(u64(want)); err != nil {
			return err
		}
		for i := range events {
			events[i].Lease = l.ID
		}
		return d.appendEvents(tx, events)
	})
	return l, err
}

// EndLeaseKept ends a lease whose snapshot was not deleted, because it was
// out of sight (it vanished, or its volume's filesystem was replaced): the
// id is kept, so that the snapshot, should it come back, is adopted and
// not taken for the leftover of a release.
func (d *DB) EndLeaseKept(id uint64, events ...Event) error {
	return d.batch(func(tx *bolt.Tx) error {
		if err := d.deleteLease(tx, id); err != nil {
			return err
		}
		if err := tx.Bucket(bucketKept).Put(u64(id), nil); err != nil {
			return err
		}
		return d.appendEvents(tx, append([]Event(nil), events...))
	})
}

// Kept returns the ids EndLeaseKept ended.
func (d *DB) Kept() (map[uint64]bool, error) {
	kept := map[uint64]bool{}
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKept).ForEach(func(k, _ []byte) error {
			if len(k) == 8 {
				kept[binary.BigEndian.Uint64(k)] = true
			}
			return nil
		})
	})
	return kept, err
}

func decodeLease(k, v []byte, l *Lease) error {
	if err := json.Unmarshal(v, l); err != nil {
		return fmt.Errorf("decode lease %x: %w", k, err)
	}
	return nil
}
