package db

import (
	"bytes"
	"encoding/binary"
	"math"

	bolt "go.etcd.io/bbolt"
)

// MachinesNamed returns the machines called name, one a volume, ordered
// by volume; it decodes those records only.
func (d *DB) MachinesNamed(name string) ([]Machine, error) {
	var ms []Machine
	err := d.bolt.View(func(tx *bolt.Tx) error {
		for _, vol := range d.ix.volumesOf(name) {
			m, ok, err := getMachine(tx, vol, name)
			if err != nil {
				return err
			}
			// Gone since the index was read: as if looked up just after.
			if ok {
				ms = append(ms, m)
			}
		}
		return nil
	})
	return ms, err
}

// MachineLeases returns the leases held on one machine, in id order; it
// decodes those records only.
func (d *DB) MachineLeases(volume, name string) (ls []Lease, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		ls, err = d.leasesOf(tx, volume, name)
		return err
	})
	return ls, err
}

// MachineAndLeases is a machine record with the leases held on it.
type MachineAndLeases struct {
	Machine
	Leases []Lease
}

// MachinePage returns up to limit machines, each with its leases, whose
// keys (VOLUME/NAME) follow after ("" for the first page), in key order.
// A page is read in one transaction, so that a machine and its leases
// agree; a long answer is read page by page, so that a slow reader does
// not hold one transaction open the whole time.
func (d *DB) MachinePage(after string, limit int) ([]MachineAndLeases, error) {
	var page []MachineAndLeases
	err := d.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMachines).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && bytes.Equal(k, []byte(after)) {
			k, v = c.Next()
		}
		for ; k != nil && len(page) < limit; k, v = c.Next() {
			var m Machine
			if err := decodeMachine(k, v, &m); err != nil {
				return err
			}
			ls, err := d.leasesOf(tx, m.Volume, m.Name)
			if err != nil {
				return err
			}
			page = append(page, MachineAndLeases{Machine: m, Leases: ls})
		}
		return nil
	})
	return page, err
}

// LeasePage returns up to limit leases whose ids are above after, in id
// order, read in one transaction; see MachinePage.
func (d *DB) LeasePage(after uint64, limit int) ([]Lease, error) {
	var page []Lease
	if after == math.MaxUint64 {
		return nil, nil
	}
	err := d.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLeases).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(page) < limit; k, v = c.Next() {
			var l Lease
			if err := decodeLease(k, v, &l); err != nil {
				return err
			}
			page = append(page, l)
		}
		return nil
	})
	return page, err
}

// LeaseRecordPage calls each with the stored record of up to limit leases
// whose ids are above after, in id order, in one read transaction, and
// returns the last id it saw (after when none). raw is the record as
// stored, valid only during the call: for a caller that keeps what it
// made of a record until the record changes (DecodeLease reads it).
func (d *DB) LeaseRecordPage(after uint64, limit int, each func(id uint64, raw []byte) error) (last uint64, err error) {
	last = after
	if after == math.MaxUint64 {
		return last, nil
	}
	err = d.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLeases).Cursor()
		n := 0
		for k, v := c.Seek(u64(after + 1)); k != nil && n < limit; k, v = c.Next() {
			last = binary.BigEndian.Uint64(k)
			if err := each(last, v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return last, err
}

// DecodeLease reads a record that LeaseRecordPage handed out.
func DecodeLease(id uint64, raw []byte) (Lease, error) {
	var l Lease
	err := decodeLease(u64(id), raw, &l)
	return l, err
}
