package db

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/bmsched/bmsched/migrations"
)

// schemaVersion reads the stored version; 0 for a new, empty file.
func schemaVersion(tx *bolt.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// migrate applies every migration newer than the stored version in one
// transaction, so that a crash leaves the old schema or the new, never a
// mix.
func (d *DB) migrate() error {
	return d.update(func(tx *bolt.Tx) error {
		v := schemaVersion(tx)
		if v > migrations.Latest() {
			return d.tooNew(v)
		}
		for _, m := range migrations.All {
			if m.Version <= v {
				continue
			}
			if err := m.Up(tx); err != nil {
				return fmt.Errorf("migrate database %s to version %d (%s): %w", d.path, m.Version, m.Name, err)
			}
			v = m.Version
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(v))
	})
}

// SchemaVersion reports the database's schema version.
func (d *DB) SchemaVersion() (v uint64, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		v = schemaVersion(tx)
		return nil
	})
	return v, err
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// requireBuckets checks, once migrated, that every bucket of the schema
// is there: the daemon's code relies on them, and a missing one means
// that damage took its name in a page that is otherwise sound.
func (d *DB) requireBuckets() error {
	return d.bolt.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketMachines, bucketLeases, bucketEvents, bucketOps, bucketVolumes, bucketKept} {
			if tx.Bucket(b) == nil {
				return &DamagedError{Path: d.path, Problem: fmt.Sprintf("its %q bucket is missing", b)}
			}
		}
		return nil
	})
}
