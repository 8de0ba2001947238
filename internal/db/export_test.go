package db

import bolt "go.etcd.io/bbolt"

func (d *DB) PutLeaseForTest(l Lease) error {
	return d.update(func(tx *bolt.Tx) error { return d.putLease(tx, &l) })
}
