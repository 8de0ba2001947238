package db

import bolt "go.etcd.io/bbolt"

// BootID returns the boot id stored by the last daemon start, "" if none.
func (d *DB) BootID() (id string, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketMeta).Get(keyBootID))
		return nil
	})
	return id, err
}

// SetBootID stores the boot id of this daemon's boot.
func (d *DB) SetBootID(id string) error {
	return d.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyBootID, []byte(id))
	})
}
