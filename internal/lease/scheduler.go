// Package lease is bmsched's scheduler: it hands out writable snapshots of
// toolchain images under durable leases, within capacity limits and in a
// fair order, and ends leases on release, expiry, owner exit or reboot.
//
// Each acquire and each end makes one durable commit, between
// filesystem steps that bmsched's temporaries (.bmsched-lease-N,
// .bmsched-release-N) and the tag on every snapshot make recoverable: a
// snapshot is made under its temporary, its lease committed, then it is
// renamed into place; an end renames it aside, commits, and leaves the
// delete to the background. Recover finishes or undoes whatever a crash
// interrupted before the daemon lets clients in again. The filesystem is
// the driver's (internal/btrfs): this package calls it for every step.
package lease

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bmsched/bmsched/internal/broadcast"
	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/inventory"
)

// Config is the scheduler's part of `bmsched serve`.
type Config struct {
	MaxLeases     int // on the host; 0 for no limit
	MaxPerMachine int // per machine; 0 for no limit
	MaxPerUser    int // leases of one non-root uid; 0 for no limit
	BootID        string
	// CrashAt names a crash point at which the daemon kills itself with
	// SIGKILL: set only by tests that prove crash consistency.
	CrashAt crash.Point
	Log     *slog.Logger
	// IDs is the machines root's lease id mark (rootlock.IDs), which
	// outlives the database; nil for none.
	IDs IDMark
	// Observer hears of ended leases and failed deletes; nil for none.
	Observer Observer
	// Pool hands acquires ready-made snapshots; nil for none.
	Pool Pool
}

// IDMark is a high-water mark of lease ids kept beside the volumes, so
// that a lost or restored database never hands a name out again.
type IDMark interface {
	Reserved() uint64
	Token() string
	Cover(id uint64) error
	Stamp(token string, id uint64) error
}

// Scheduler grants and ends leases.
type Scheduler struct {
	cfg Config
	db  *db.DB
	inv *inventory.Inventory
	log *slog.Logger

	mu       sync.Mutex
	live     map[uint64]*entry // every lease not yet ended
	used     map[string]int    // slots in use by machine key "volume/name"
	total    int               // slots in use on the host
	queue    []*waiter         // waiting requests, in service order
	arrival  uint64            // arrival counter for the queue
	changed  broadcast.Signal  // notified at every lease change
	closed   map[string]int    // machines whose acquires are refused (being deleted)
	inflight map[string]int    // acquires past the gate, not yet live or failed

	userMu        sync.Mutex     // serializes the per-user count (peruser.go)
	userAcquiring map[uint32]int // acquires under way, by uid

	ids idBlock // lease ids reserved, not yet handed out (ids.go)
	del deleter // deletes the snapshots of ended leases (deleter.go)

	kick chan struct{} // wakes the reaper to recompute its deadline
	stop chan struct{}
	// bg is the context of the background work, done at StopBackground.
	bg     context.Context
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// entry is the scheduler's in-memory view of a live lease.
type entry struct {
	id        uint64
	key       string // machine key
	counted   bool   // holds a capacity slot
	expires   time.Time
	holdUntil time.Time
	owner     *ownerWatch
	// creating: its acquire is making the snapshot under temp, or has
	// committed it and not yet placed it under its final name; nothing
	// but that acquire may end it.
	creating bool
	temp     string
	// ending is closed when the end under way finishes; nil when none is.
	ending chan struct{}
	// retry is when the reaper tries again to delete the snapshot of a
	// releasing lease whose delete failed; backoff is the last pause.
	// deferred: loaded while its volume was unavailable, its recovery
	// put off until the volume is back (RecoverVolume).
	deferred bool
	retry    time.Time
	backoff  time.Duration
}

// New returns a scheduler; call Recover before serving, then
// StartBackground.
func New(cfg Config, d *db.DB, inv *inventory.Inventory) *Scheduler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		bg: bg, cancel: cancel,
		del:  deleter{queued: map[uint64]bool{}, kick: make(chan struct{}, 1)},
		cfg:  cfg,
		db:   d,
		inv:  inv,
		log:  cfg.Log,
		live: map[uint64]*entry{},
		used: map[string]int{},

		userAcquiring: map[uint32]int{},
		kick:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
	}
}

// StartBackground runs the reaper and the deleter until StopBackground.
func (s *Scheduler) StartBackground() {
	s.done.Add(2)
	go s.reaper()
	go s.deleterLoop()
}

// StopBackground stops the reaper, the deleter and the owner watches;
// leases stay in the database. The deleter first deletes what is queued,
// so that a clean stop leaves no lease releasing that need not be; a
// delete that fails, or a crash, is resumed at the next start.
func (s *Scheduler) StopBackground() {
	defer s.cancel()
	s.mu.Lock()
	close(s.stop)
	for _, e := range s.live {
		if e.owner != nil {
			e.owner.close()
		}
	}
	s.mu.Unlock()
	s.done.Wait()
}

// Changed returns a channel that is closed at the next change of any
// lease: how a delete waits for a machine's leases to drain without
// polling.
func (s *Scheduler) Changed() <-chan struct{} { return s.changed.Wait() }

// notifyLocked wakes every Changed waiter. s.mu is held, so that the
// change it announces is whole before anyone looks.
func (s *Scheduler) notifyLocked() { s.changed.Notify() }

func (s *Scheduler) wakeReaper() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func machineKey(volume, name string) string { return volume + "/" + name }

// RetryVolume has the reaper try again, now, the deletes that failed on a
// volume: its filesystem is back, and the releases that waited for it
// can delete their snapshots.
func (s *Scheduler) RetryVolume(volume string) {
	s.mu.Lock()
	now := time.Now()
	for _, e := range s.live {
		if !e.retry.IsZero() && strings.HasPrefix(e.key, volume+"/") {
			e.retry, e.backoff = now, 0
		}
	}
	s.mu.Unlock()
	s.wakeReaper()
}
