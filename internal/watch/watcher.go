package watch

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Handler is what a Watcher asks of its owner. Its methods are called
// from the watcher's workers, never twice at once for one machine
// directory, and only after Start.
type Handler interface {
	// RescanMachine brings the record of one machine directory up to date
	// (the directory may be gone). changed names the entries that events
	// were about since the last call, so that the owner can skip a rescan
	// when they are all its own doing; it is nil when the whole directory
	// must be looked at (it came or went, too many names changed, or this
	// is a look-again). It returns true when what it found may still
	// change without raising an event, such as a revision or image that is
	// not read-only yet: then the watcher looks again, a few times, at
	// growing intervals.
	RescanMachine(volume, name string, changed []string) (unsettled bool)
	// RescanAll brings everything up to date: events were lost, a volume
	// or a stray came or went, or the periodic reconcile is due. reasons
	// say which.
	RescanAll(reasons []string)
}

// Reasons for rescanning everything, as RescanAll is told them.
const (
	ReasonReconcile  = "reconcile"
	ReasonOverflow   = "event queue overflow"
	ReasonWatchError = "watcher error"
	ReasonUnwatched  = "a directory could not be watched"
	ReasonRoot       = "machines root changed"
	ReasonVolume     = "volume changed"
)

// Config tunes a Watcher; only Handler is required.
type Config struct {
	Handler Handler
	// Debounce is the quiet time after an event in a directory before it
	// is rescanned (default 25ms); MaxDelay bounds how long a steady stream
	// of events can put a rescan off (default 250ms).
	Debounce, MaxDelay time.Duration
	// Settle are the delays of the look-agains for a directory its handler
	// calls unsettled (default 50ms doubling to 51.2s, about 100s in all).
	Settle []time.Duration
	// Reconcile is the period of the full rescan that repairs whatever the
	// events missed; 0 for none.
	Reconcile time.Duration
	// Workers is how many rescans may run at once (default 2), besides
	// the one worker that serves only the priority lane (link changes).
	Workers int
	Log     *slog.Logger

	// wrapAdd, set by tests, wraps the call that adds a watch, to make it
	// fail as when the watch limit is reached: lowering the real limit
	// would fail other processes of the same user too.
	wrapAdd func(add func(string) error) func(string) error
}

// DefaultSettle are the look-again delays for a directory still settling.
// They go on, sparser, for about two minutes, where the periodic
// reconcile takes over: an operator may type `ro true` well after the
// receive, and the flag raises no event.
var DefaultSettle = []time.Duration{
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
	6400 * time.Millisecond, 12800 * time.Millisecond, 25600 * time.Millisecond, 51200 * time.Millisecond,
}

// Watcher keeps inotify watches on a machines root, on each of its volumes
// and on each machine directory, and nothing deeper: what happens inside
// an image or a snapshot is the build's business, and a build host's
// snapshots would exhaust the watch limit. It turns the events into
// coalesced requests to rescan one machine directory or, when events were
// lost or something other than a machine directory changed, everything.
//
// A directory is always watched before it is scanned, so that what is
// created in it between the two is either seen by the scan or raises an
// event.
type Watcher struct {
	root   string // clean, without a trailing slash
	prefix string // root + "/", which event names start with
	cfg    Config
	log    *slog.Logger
	fsw    *fsnotify.Watcher
	q      *queue

	// add and remove are fsw.Add and fsw.Remove; tests replace add to make
	// the watch limit run out.
	add    func(path string) error
	remove func(path string) error

	// tree is what is watched, by volume; only the event loop touches it
	// once New has returned.
	tree       map[string]*volumeWatch
	rootStrays map[string]bool
	// limitLogged keeps a watch limit that stays reached from logging at
	// every reconcile.
	limitLogged bool
	// After lost events: when the last resync ran, the next one due if it
	// was put off, and why, with counts. Only the event loop touches them.
	lastResync  time.Time
	resyncDue   <-chan time.Time
	lostReasons map[string]int

	stats     counters
	rewatch   chan string // volumes whose filesystem changed (RewatchVolume)
	stop      chan struct{}
	done      chan struct{}
	startOnce sync.Once
	closeOnce sync.Once
}

// volumeWatch is a watched volume: its watched machine directories and
// the names of its strays. Strays are known so that their going away, and
// only that, asks for a full rescan: a directory moved away raises two
// events (its parent's and its own), and the second must not cost one.
type volumeWatch struct {
	machines map[string]bool
	strays   map[string]bool
}

func newVolumeWatch() *volumeWatch {
	return &volumeWatch{machines: map[string]bool{}, strays: map[string]bool{}}
}

// Stats count what the watcher has been through, for logs and tests.
type Stats struct {
	Events    int // inotify events read, Write events included
	Watches   int // directories watched now
	Overflows int // times the kernel's event queue overflowed
	Errors    int // other errors the watcher reported
	Unwatched int // directories that could not be watched
}

type counters struct {
	events, watches, overflows, errors, unwatched atomic.Int64
}

// New watches root, its volumes and their machine directories.
// Events are collected from then on, but handed to cfg.Handler only once
// Start is called: the owner scans everything in between, knowing that
// nothing that changes from now on can be missed.
func New(root string, cfg Config) (*Watcher, error) {
	if cfg.Handler == nil {
		return nil, errors.New("fsscan: New needs a Handler")
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 25 * time.Millisecond
	}
	if cfg.MaxDelay < cfg.Debounce {
		cfg.MaxDelay = max(250*time.Millisecond, cfg.Debounce)
	}
	if cfg.Settle == nil {
		cfg.Settle = DefaultSettle
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, watchError(root, err)
	}
	root = filepath.Clean(root)
	w := &Watcher{
		lostReasons: map[string]int{},
		root:        root, prefix: strings.TrimSuffix(root, "/") + "/", cfg: cfg, log: cfg.Log, fsw: fsw,
		tree: map[string]*volumeWatch{}, rootStrays: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{}), rewatch: make(chan string, 16),
	}
	w.add, w.remove = fsw.Add, fsw.Remove
	if cfg.wrapAdd != nil {
		w.add = cfg.wrapAdd(w.add)
	}
	w.q = newQueue(cfg.Debounce, cfg.MaxDelay, cfg.Settle, w.dispatch)
	if err := w.add(root); err != nil {
		fsw.Close()
		return nil, watchError(root, err)
	}
	w.resync()
	go w.loop()
	return w, nil
}

// Start hands the changes collected so far, and all later ones, to the
// handler.
func (w *Watcher) Start() {
	w.startOnce.Do(func() { w.q.start(w.cfg.Workers) })
}

// Close stops watching and waits for the rescans under way; pending ones
// are dropped.
func (w *Watcher) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		err = w.fsw.Close()
		w.q.close()
	})
	return err
}

// RewatchVolume watches a volume afresh and asks for everything to be
// rescanned: a filesystem was mounted on its directory or unmounted from
// it, and the watches still on the directory the mount covered or took
// away see nothing of what is there now.
func (w *Watcher) RewatchVolume(name string) {
	select {
	case w.rewatch <- name:
	case <-w.stop:
	}
}

func (w *Watcher) rewatchVolume(name string) {
	w.dropVolume(name)
	if isDir(w.prefix + name) {
		w.addVolume(name)
	}
	w.q.touch(everything, ReasonVolume)
}

// Stats returns the watcher's counters.
func (w *Watcher) Stats() Stats {
	return Stats{
		Events:    int(w.stats.events.Load()),
		Watches:   int(w.stats.watches.Load()),
		Overflows: int(w.stats.overflows.Load()),
		Errors:    int(w.stats.errors.Load()),
		Unwatched: int(w.stats.unwatched.Load()),
	}
}

func (w *Watcher) dispatch(t target, notes []string) bool {
	if t == everything {
		w.cfg.Handler.RescanAll(notes)
		return false
	}
	return w.cfg.Handler.RescanMachine(t.volume, t.machine, notes)
}

// loop reads the events. It must keep up with the kernel, whose queue is
// bounded: it only updates the watches and marks directories for a
// rescan, and never scans.
func (w *Watcher) loop() {
	defer close(w.done)
	var tick <-chan time.Time
	if w.cfg.Reconcile > 0 {
		t := time.NewTicker(w.cfg.Reconcile)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-w.stop:
			return
		case e, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.stats.events.Add(1)
			w.handle(e)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.lost(err)
		case <-w.resyncDue:
			w.resyncDue = nil
			w.resyncNow()
		case name := <-w.rewatch:
			w.rewatchVolume(name)
		case <-tick:
			w.resync()
			w.q.touch(everything, ReasonReconcile)
		}
	}
}

// lost handles an error from inotify: events may have been lost, so
// watches are brought up to date and everything is rescanned. A flood
// overflows the queue again and again: the resync that reads every
// directory runs at most once a second, so that the loop keeps draining
// the kernel's queue meanwhile, and is logged once for the lot.
func (w *Watcher) lost(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.stats.overflows.Add(1)
		w.lostReasons[ReasonOverflow]++
	} else {
		w.stats.errors.Add(1)
		w.lostReasons[ReasonWatchError]++
		w.log.Error("watcher error", "root", w.root, "err", err)
	}
	if w.resyncDue != nil {
		return
	}
	if wait := time.Second - time.Since(w.lastResync); wait > 0 {
		w.resyncDue = time.After(wait)
		return
	}
	w.resyncNow()
}

// resyncNow re-adds every watch and rescans everything after lost events.
func (w *Watcher) resyncNow() {
	if n := w.lostReasons[ReasonOverflow]; n > 0 {
		w.log.Warn("inotify event queue overflowed: events were lost; rescanning everything (raise fs.inotify.max_queued_events if this recurs)", "root", w.root, "overflows", n)
	}
	var reasons []string
	for r := range w.lostReasons {
		reasons = append(reasons, r)
	}
	clear(w.lostReasons)
	w.lastResync = time.Now()
	w.resync()
	for _, r := range reasons {
		w.q.touch(everything, r)
	}
}
