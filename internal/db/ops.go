package db

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketOps = []byte("ops")

// Op is the journal record of an operator command under way. Each command
// writes it before its first filesystem step and advances Step after
// each, so that recovery knows what to finish or undo.
type Op struct {
	ID        uint64 `json:"id"`
	Kind      string `json:"kind"` // add, upgrade, delete, bootstrap
	Volume    string `json:"volume"`
	Machine   string `json:"machine"`
	Rev       uint64 `json:"rev,omitempty"`
	Toolchain string `json:"toolchain,omitempty"`
	Step      string `json:"step"`
	Temp      string `json:"temp,omitempty"`       // bmsched temporary the command made
	MadeDir   bool   `json:"made_dir,omitempty"`   // the command created the machine directory
	OldLink   string `json:"old_link,omitempty"`   // link target before the command
	ClientPID int    `json:"client_pid,omitempty"` // bootstrap: the client running the command
	// ClientStart is the client's start time (clock ticks since boot), so
	// that a reused pid is not taken for the client.
	ClientStart uint64 `json:"client_start,omitempty"`
	// ReceivePID and ReceiveStart name the `btrfs receive` of an add or
	// upgrade, which recovery waits for before it undoes the command.
	ReceivePID   int       `json:"receive_pid,omitempty"`
	ReceiveStart uint64    `json:"receive_start,omitempty"`
	UUID         string    `json:"uuid,omitempty"` // bootstrap: the new image, once made read-only
	Started      time.Time `json:"started"`
}

// PutOp stores an op, taking a new id when ID is zero.
func (d *DB) PutOp(o *Op) error {
	return d.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOps)
		if o.ID == 0 {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			o.ID = id
		}
		buf, err := json.Marshal(o)
		if err != nil {
			return err
		}
		return b.Put(u64(o.ID), buf)
	})
}

// EndOp removes an op's journal record and appends the events given.
func (d *DB) EndOp(id uint64, events ...Event) error {
	return d.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOps).Delete(u64(id)); err != nil {
			return err
		}
		return d.appendEvents(tx, events)
	})
}

// Ops returns every op under way, in id order.
func (d *DB) Ops() ([]Op, error) {
	var ops []Op
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOps).ForEach(func(k, v []byte) error {
			var o Op
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode op %x: %w", k, err)
			}
			ops = append(ops, o)
			return nil
		})
	})
	return ops, err
}

// Op returns one op; ok is false when there is none.
func (d *DB) Op(id uint64) (o Op, ok bool, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketOps).Get(u64(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &o)
	})
	return o, ok, err
}

// SetDeleting marks or clears a machine as being drained by a delete.
func (d *DB) SetDeleting(volume, name string, deleting bool) error {
	return d.UpdateMachine(volume, name, func(m *Machine) (*Machine, []Event, error) {
		if m == nil {
			return nil, nil, nil
		}
		m.Deleting = deleting
		if deleting {
			m.State = "deleting"
		} else if m.State == "deleting" {
			m.State = "retiring"
		}
		return m, nil, nil
	})
}
