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
	return d.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyBootID, []byte(id))
	})
}

// ID is the database's identity, a UUID given at its creation (schema
// version 3): every snapshot's tag names it, so that recovery can tell
// the snapshots of this database's leases from those of another.
func (d *DB) ID() string { return d.id }

func (d *DB) loadID() error {
	return d.bolt.View(func(tx *bolt.Tx) error {
		d.id = string(tx.Bucket(bucketMeta).Get(keyDBID))
		return nil
	})
}

// LeaseCounter is the highest lease id this database has reserved.
func (d *DB) LeaseCounter() (n uint64, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketLeases).Sequence()
		return nil
	})
	return n, err
}

// RaiseLeaseCounter makes the next lease id larger than n, so that a name
// found on disk (from a lost or restored database) is never handed out
// again. It never lowers the counter.
func (d *DB) RaiseLeaseCounter(n uint64) error {
	return d.update(func(tx *bolt.Tx) error {
		// The ids up to n count as handed out: the next acquire goes on
		// above them, not in the rest of a reserved block.
		if err := raiseIssued(tx, n); err != nil {
			return err
		}
		b := tx.Bucket(bucketLeases)
		if b.Sequence() >= n {
			return nil
		}
		return b.SetSequence(n)
	})
}

// RootToken is the token this database stamped on the machines root at
// its last start ("" if none): how the root's id mark tells whether this
// database is the one that last served it.
func (d *DB) RootToken() (tok string, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		tok = string(tx.Bucket(bucketMeta).Get(keyRootToken))
		return nil
	})
	return tok, err
}

// SetRootToken stores the token stamped on the root at this start.
func (d *DB) SetRootToken(tok string) error {
	return d.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyRootToken, []byte(tok))
	})
}
