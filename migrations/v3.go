package migrations

import (
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// v3 gives the database an identity: meta "db_id", a random UUID that
// bmsched writes into every snapshot's tag with the lease id. Recovery
// deletes a tagged snapshot only when the tag names this database, so a
// snapshot of a lost, restored or rebuilt database is adopted instead.
func v3(tx *bolt.Tx) error {
	meta := tx.Bucket([]byte("meta"))
	if meta.Get([]byte("db_id")) != nil {
		return nil
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return err
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	return meta.Put([]byte("db_id"), []byte(id))
}
