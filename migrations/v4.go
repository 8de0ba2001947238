package migrations

import bolt "go.etcd.io/bbolt"

// v4 adds "volumes": what bmsched knows of each volume's filesystem,
// keyed by the volume's name, so that a daemon restarting while a volume
// is unmounted knows it for unavailable rather than empty.
func v4(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists([]byte("volumes"))
	return err
}
