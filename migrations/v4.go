package migrations

import bolt "go.etcd.io/bbolt"

// v4 adds "volumes": what bmsched knows of each volume's filesystem,
// keyed by the volume's name, so that a daemon restarting while a volume
// is unmounted knows it for unavailable rather than empty; and "kept":
// the big-endian ids of leases ended while their snapshots were out of
// sight (vanished, or on a filesystem replaced), whose snapshots, should
// they come back, are adopted rather than taken for leftovers.
func v4(tx *bolt.Tx) error {
	for _, b := range []string{"volumes", "kept"} {
		if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
			return err
		}
	}
	return nil
}
