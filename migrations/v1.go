package migrations

import bolt "go.etcd.io/bbolt"

// v1 creates the first schema. meta holds "schema" and "boot_id"; machines
// is keyed by "volume/name"; leases by the big-endian lease id, whose bucket
// sequence hands out ids that are never reused; events by a big-endian
// sequence number.
func v1(tx *bolt.Tx) error {
	for _, b := range []string{"meta", "machines", "leases", "events"} {
		if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
			return err
		}
	}
	return nil
}
