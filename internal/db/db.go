// Package db is bmsched's bbolt database: the records of machines, leases
// and events, and the transactions that read and write them.
package db

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bmsched/bmsched/internal/broadcast"
	"github.com/bmsched/bmsched/migrations"
)

// Bucket names, as migrations/v1.go creates them.
var (
	bucketMeta     = []byte("meta")
	bucketMachines = []byte("machines")
	bucketLeases   = []byte("leases")
	bucketEvents   = []byte("events")
	bucketVolumes  = []byte("volumes")
	bucketKept     = []byte("kept")

	keySchema = []byte("schema")
	keyBootID = []byte("boot_id")
	keyDBID   = []byte("db_id")
	// keyRootToken needs no migration: absent reads as "".
	keyRootToken = []byte("root_token")
)

// ErrHeld is returned by Open when another process holds the database.
var ErrHeld = errors.New("database is held by another bmsched")

// ErrTooNew is returned by Open when the database was written by a newer
// bmsched than this one.
var ErrTooNew = errors.New("database schema is newer than this bmsched")

// DB is an open bmsched database.
type DB struct {
	bolt *bolt.DB
	path string
	id   string // identity, from meta (meta.go)
	// maxEvents bounds the event log; older events are dropped.
	maxEvents uint64
	// group lets concurrent lease updates share commits.
	group groupCommit
	// appended wakes those following the event log (events.go).
	appended broadcast.Signal
	// file is what Verify found before bbolt mapped the file.
	file FileReport
	// commits counts the write transactions committed (commits.go).
	commits atomic.Uint64
	// ix finds machines by name and leases by machine (index.go).
	ix index
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock (default 1s).
	LockTimeout time.Duration
	// ReadOnly opens without migrating, sharing the lock with other
	// readers but not with a daemon.
	ReadOnly bool
	// MaxEvents bounds the event log (default 10000).
	MaxEvents uint64
}

// Open opens (creating if needed) the database at path and, unless
// ReadOnly, applies every pending migration in one transaction.
func Open(path string, opt Options) (*DB, error) {
	if opt.LockTimeout == 0 {
		opt.LockTimeout = time.Second
	}
	if opt.MaxEvents == 0 {
		opt.MaxEvents = 10000
	}
	if opt.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open database %s: %w (give the daemon's --db)", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// bbolt trusts the file it maps: a truncated one faults (SIGBUS) and
	// garbage in a page panics, so the file is checked first.
	report, release, err := verifyForOpen(path, opt)
	if err != nil {
		return nil, err
	}
	if !opt.ReadOnly {
		// bbolt's exclusive lock would wait on ours.
		release()
		release = func() {}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opt.LockTimeout,
		ReadOnly: opt.ReadOnly,
		// The hashmap freelist stays fast as the file fragments; not
		// writing it at every commit saves a page per commit (measured:
		// a lease put+delete pair 4.8 ms -> 2.8 ms, median of 4, ext4),
		// and costs no durability: Open rebuilds it from the tree.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	release()
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open database %s: %w (stop that daemon, or talk to it through its socket)", path, ErrHeld)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	d := &DB{bolt: b, path: path, maxEvents: opt.MaxEvents, file: report}
	if opt.ReadOnly {
		err = d.Safely(d.checkVersion)
	} else if err = d.Safely(d.migrate); err == nil {
		err = d.Safely(d.requireBuckets)
	}
	if err == nil {
		err = d.loadID()
	}
	if err == nil {
		err = d.Safely(func() error { return d.bolt.View(d.ix.build) })
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return d, nil
}

// FellBack says, when not empty, that one meta page of the file was
// invalid at Open, so bbolt opened the commit before the newest: what the
// newest commit recorded may be lost. A writer's next commit rewrites
// that page.
func (d *DB) FellBack() string { return d.file.FellBack }

// File is what Open found in the file before bbolt mapped it.
func (d *DB) File() FileReport { return d.file }

// Close closes the database.
func (d *DB) Close() error { return d.bolt.Close() }

// Path is the database file's path.
func (d *DB) Path() string { return d.path }

// Bolt exposes the underlying handle for offline maintenance (dump,
// check, compact).
func (d *DB) Bolt() *bolt.DB { return d.bolt }

func (d *DB) checkVersion() error {
	return d.bolt.View(func(tx *bolt.Tx) error {
		v := schemaVersion(tx)
		if v > migrations.Latest() {
			return d.tooNew(v)
		}
		return nil
	})
}

func (d *DB) tooNew(v uint64) error {
	return fmt.Errorf("open database %s: %w: it has schema version %d, this bmsched knows up to %d; run a newer bmsched", d.path, ErrTooNew, v, migrations.Latest())
}
