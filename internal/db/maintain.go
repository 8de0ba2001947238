package db

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/bmsched/bmsched/migrations"
)

// Check verifies the file's page structure, the schema version and that
// every record decodes. It returns every problem found, not just the first.
// Open has walked the pages already; bbolt's check adds free pages and
// pages that nothing reaches, but it is skipped when a meta page's header
// is garbage, which it would die on.
func (d *DB) Check() []error {
	var errs []error
	err := d.Safely(func() error {
		return d.bolt.View(func(tx *bolt.Tx) error {
			if d.file.checkable {
				for err := range tx.Check() {
					errs = append(errs, fmt.Errorf("page structure: %w", err))
				}
			}
			v := schemaVersion(tx)
			if v != migrations.Latest() {
				errs = append(errs, fmt.Errorf("schema version %d, this bmsched writes %d (the daemon migrates at start; or run `bmsched db migrate`)", v, migrations.Latest()))
			}
			decode := func(bucket []byte, into func() any) {
				b := tx.Bucket(bucket)
				if b == nil {
					errs = append(errs, fmt.Errorf("bucket %q is missing", bucket))
					return
				}
				_ = b.ForEach(func(k, v []byte) error {
					if err := json.Unmarshal(v, into()); err != nil {
						errs = append(errs, fmt.Errorf("%s record %s: %w", bucket, keyString(bucket, k), err))
					}
					return nil
				})
			}
			decode(bucketMachines, func() any { return new(Machine) })
			decode(bucketLeases, func() any { return new(Lease) })
			decode(bucketEvents, func() any { return new(Event) })
			decode(bucketOps, func() any { return new(Op) })
			decode(bucketVolumes, func() any { return new(Volume) })
			return nil
		})
	})
	if err != nil {
		// A damaged file is one problem: what was found before it may
		// be a consequence of it.
		return []error{err}
	}
	return errs
}

// Dump writes every bucket and record as "bucket key value" lines, values
// as JSON, so that an operator can read or grep the whole database.
func (d *DB) Dump(w io.Writer) error {
	return d.Safely(func() error {
		return d.bolt.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					_, err := fmt.Fprintf(w, "%s %s %s\n", name, keyString(name, k), valueString(name, k, v))
					return err
				})
			})
		})
	})
}

// keyString renders big-endian numeric keys as numbers.
func keyString(bucket, k []byte) string {
	switch string(bucket) {
	case "leases", "events", "ops":
		if len(k) == 8 {
			return fmt.Sprint(binary.BigEndian.Uint64(k))
		}
	}
	return fmt.Sprintf("%q", k)
}

func valueString(bucket, k, v []byte) string {
	if string(bucket) == "meta" && bytes.Equal(k, keySchema) && len(v) == 8 {
		return fmt.Sprint(binary.BigEndian.Uint64(v))
	}
	if json.Valid(v) {
		return string(v)
	}
	return fmt.Sprintf("%q", v)
}

// SyncDir makes a rename in dir durable: a new database file put in
// place by compact or rebuild.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
