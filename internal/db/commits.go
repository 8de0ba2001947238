package db

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// update runs fn in a write transaction of its own and counts the commit:
// every write of this package goes through it (or through batch, which
// calls it), so Commits is the number of fsync pairs paid.
func (d *DB) update(fn func(*bolt.Tx) error) error {
	// The index takes this transaction's changes only once it commits.
	d.ix.writing.Lock()
	defer d.ix.writing.Unlock()
	d.ix.pending = nil
	err := d.bolt.Update(fn)
	if err == nil {
		d.commits.Add(1)
		d.ix.commit()
	}
	d.ix.pending = nil
	return err
}

// Commits is the number of write transactions committed since Open.
func (d *DB) Commits() uint64 { return d.commits.Load() }

// Size is the size of the database file on disk, free pages included:
// what the file costs, which `bmsched db compact` shrinks.
func (d *DB) Size() (int64, error) {
	fi, err := os.Stat(d.path)
	if err != nil {
		return 0, fmt.Errorf("size of database %s: %w", d.path, err)
	}
	return fi.Size(), nil
}
