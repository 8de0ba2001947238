package warm

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/inventory"
)

// key names one image: a toolchain of a machine on a volume.
type key struct{ volume, machine, toolchain string }

func (k key) machineKey() string { return k.volume + "/" + k.machine }

// image is the pool of one image.
type image struct {
	uuid  string    // the image's UUID when its snapshots were made
	ready []string  // paths of ready snapshots, oldest first
	used  time.Time // its last acquire
	full  bool      // reached its target since it was last empty (events)
	// failed: its last fill failed; the failure is told once, not at
	// every round.
	failed bool
}

// Pool keeps ready snapshots of the images acquired lately.
type Pool struct {
	cfg Config
	inv *inventory.Inventory
	db  *db.DB
	log *slog.Logger

	mu     sync.Mutex
	images map[key]*image
	// Drains bump the epoch of a machine or a volume: a fill that began
	// before keeps nothing it made (fill.go).
	machineEpoch map[string]uint64
	volumeEpoch  map[string]uint64
	filling      *key       // the image a fill is making snapshots of
	fillDone     *sync.Cond // signalled when a fill ends, under mu
	// down are volumes whose pools were dropped: not filled until what
	// is left of them on disk is removed, once the inventory says the
	// volume changed (back) and it is available.
	down  map[string]bool
	back  map[string]bool
	due   map[key]bool // images acquired since the refiller last looked
	seq   uint64       // names of new snapshots
	stats Stats

	started bool // Start ran: Stop waits for the refiller
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// Stats are the pool's counts since start.
type Stats struct {
	Images  int    // images with a pool
	Ready   int    // snapshots ready
	Hits    uint64 // acquires that took a ready snapshot
	Misses  uint64 // acquires of a pooled image that found none ready
	Refills uint64 // snapshots made by refills
	Drained uint64 // ready snapshots removed unused
}

// New returns a pool; call Start once recovery is done, and Stop before
// the database closes.
func New(cfg Config, inv *inventory.Inventory, d *db.DB, log *slog.Logger) *Pool {
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Pool{cfg: cfg, inv: inv, db: d, log: log,
		images: map[key]*image{}, machineEpoch: map[string]uint64{}, volumeEpoch: map[string]uint64{},
		down: map[string]bool{}, back: map[string]bool{}, due: map[key]bool{}, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	p.fillDone = sync.NewCond(&p.mu)
	return p
}

// Start removes what an earlier daemon left in the pool, then refills in
// the background until Stop.
func (p *Pool) Start() {
	p.sweepAll()
	p.started = true
	go p.run()
}

// Stop ends the refills and waits for the one under way. The snapshots
// ready stay on disk, for the next start to remove.
func (p *Pool) Stop() {
	close(p.stop)
	if p.started {
		<-p.done
	}
}

// Take hands the scheduler a ready snapshot (lease.Pool): renamed out
// of the pool directory to dest, which must be in the machine's
// directory. It never waits on a fill: the fill holds no lock while it
// makes a snapshot.
func (p *Pool) Take(volume, machine, toolchain, imageUUID, dest string) bool {
	k := key{volume, machine, toolchain}
	if imageUUID == "" || p.cfg.target(k) == 0 {
		return false
	}
	defer p.wake() // a refill of this image's pool (due), or its first fill
	p.mu.Lock()
	im := p.images[k]
	if im == nil {
		im = &image{}
		p.images[k] = im
	}
	im.used = time.Now()
	p.due[k] = true
	var path string
	if im.uuid == imageUUID && len(im.ready) > 0 && !p.down[volume] && filepath.Dir(filepath.Dir(im.ready[0])) == filepath.Dir(dest) {
		path, im.ready = im.ready[0], im.ready[1:]
	}
	p.mu.Unlock()
	if path == "" {
		p.count(func(s *Stats) { s.Misses++ })
		return false
	}
	if err := p.handOut(volume, path, dest); err != nil {
		p.log.Warn("warm pool: cannot hand out a ready snapshot; the acquire makes its own", "err", err)
		p.count(func(s *Stats) { s.Misses++ })
		return false
	}
	p.count(func(s *Stats) { s.Hits++ })
	return true
}

// handOut renames a ready snapshot out of its pool directory to dest.
// It leaves nothing at dest when it fails, for the acquire to snapshot
// there instead; the pool's snapshot goes, unless it is gone already.
func (p *Pool) handOut(volume, path, dest string) error {
	// Without replacing: dest is a fresh lease temporary, and anything
	// there is not ours to overwrite.
	if err := unix.Renameat2(unix.AT_FDCWD, path, unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE); err != nil {
		err = &os.LinkError{Op: "rename", Old: path, New: dest, Err: err}
		if !errors.Is(err, fs.ErrNotExist) {
			p.remove(volume, []string{path})
		}
		return err
	}
	return nil
}

// Ready counts the snapshots ready of each toolchain of a machine, for
// `show`.
func (p *Pool) Ready(volume, machine string) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, im := range p.images {
		if k.volume == volume && k.machine == machine {
			out[k.toolchain] = len(im.ready)
		}
	}
	return out
}

// Stats reports the pool's counts, for `status` and the metrics.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Images = len(p.images)
	for _, im := range p.images {
		st.Ready += len(im.ready)
	}
	return st
}

// Config is what the pool was configured with.
func (p *Pool) Config() Config { return p.cfg }

func (p *Pool) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// wake has the refiller look at the pools again.
func (p *Pool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}
