package db

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Machines returns every machine record, ordered by volume then name.
func (d *DB) Machines() ([]Machine, error) {
	var ms []Machine
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMachines).ForEach(func(k, v []byte) error {
			var m Machine
			if err := decodeMachine(k, v, &m); err != nil {
				return err
			}
			ms = append(ms, m)
			return nil
		})
	})
	return ms, err
}

// Machine returns one machine record; ok is false when there is none.
func (d *DB) Machine(volume, name string) (m Machine, ok bool, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		m, ok, err = getMachine(tx, volume, name)
		return err
	})
	return m, ok, err
}

func getMachine(tx *bolt.Tx, volume, name string) (m Machine, ok bool, err error) {
	v := tx.Bucket(bucketMachines).Get([]byte(volume + "/" + name))
	if v == nil {
		return m, false, nil
	}
	if err := json.Unmarshal(v, &m); err != nil {
		return m, false, fmt.Errorf("decode machine %s/%s: %w", volume, name, err)
	}
	return m, true, nil
}

// UpdateMachine reads the machine's record (ok false when absent), lets fn
// change it, and stores the result in the same transaction; fn returning
// nil for the machine deletes the record. Events fn returns are appended.
func (d *DB) UpdateMachine(volume, name string, fn func(old *Machine) (*Machine, []Event, error)) error {
	return d.update(func(tx *bolt.Tx) error { return d.updateMachine(tx, volume, name, fn) })
}

// updateMachine is UpdateMachine inside the transaction tx.
func (d *DB) updateMachine(tx *bolt.Tx, volume, name string, fn func(old *Machine) (*Machine, []Event, error)) error {
	old, ok, err := getMachine(tx, volume, name)
	if err != nil {
		return err
	}
	var prev *Machine
	if ok {
		prev = &old
	}
	next, events, err := fn(prev)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketMachines)
	key := []byte(volume + "/" + name)
	if next == nil {
		if ok {
			if err := b.Delete(key); err != nil {
				return err
			}
			d.ix.note(indexChange{volume: volume, name: name, drop: true})
		}
	} else {
		// The record is stored under volume and name whatever fn put in
		// it; so is it indexed.
		d.ix.note(indexChange{volume: volume, name: name})
		buf, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if err := b.Put(key, buf); err != nil {
			return err
		}
	}
	return d.appendEvents(tx, events)
}

func decodeMachine(k, v []byte, m *Machine) error {
	if err := json.Unmarshal(v, m); err != nil {
		return fmt.Errorf("decode machine %s: %w", k, err)
	}
	return nil
}
