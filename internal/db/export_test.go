package db

import bolt "go.etcd.io/bbolt"

func (d *DB) PutLeaseForTest(l Lease) error {
	return d.bolt.Update(func(tx *bolt.Tx) error { return putLease(tx, &l) })
}
