package migrations

import bolt "go.etcd.io/bbolt"

// v2 adds the journal of operator commands (add, upgrade, delete,
// bootstrap): one record per command under way, keyed by a big-endian id,
// so that a daemon restarting after a crash can finish or undo each.
func v2(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists([]byte("ops"))
	return err
}
