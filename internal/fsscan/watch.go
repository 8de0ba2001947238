package fsscan

import (
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchHandler is what a Watcher asks of its owner. Its methods are called
// from the watcher's workers, never twice at once for one machine
// directory, and only after Start.
type WatchHandler interface {
	// RescanMachine brings the record of one machine directory up to date
	// (the directory may be gone). It returns true when what it found may
	// still change without raising an event, such as a revision or image
	// that is not read-only yet: then the watcher looks again, a few times,
	// at growing intervals.
	RescanMachine(volume, name string) (unsettled bool)
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

// WatchConfig tunes a Watcher; only Handler is required.
type WatchConfig struct {
	Handler WatchHandler
	// Debounce is the quiet time after an event in a directory before it
	// is rescanned (default 25ms); MaxDelay bounds how long a steady stream
	// of events can put a rescan off (default 250ms).
	Debounce, MaxDelay time.Duration
	// Settle are the delays of the look-agains for a directory its handler
	// calls unsettled (default 50ms doubling to 3.2s, about 6s in all).
	Settle []time.Duration
	// Reconcile is the period of the full rescan that repairs whatever the
	// events missed; 0 for none.
	Reconcile time.Duration
	// Workers is how many rescans may run at once (default 2).
	Workers int
	Log     *slog.Logger
}

// DefaultSettle are the look-again delays for a directory still settling.
var DefaultSettle = []time.Duration{
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
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
	cfg    WatchConfig
	log    *slog.Logger
	fsw    *fsnotify.Watcher
	q      *queue

	// add and remove are fsw.Add and fsw.Remove; tests replace add to make
	// the watch limit run out.
	add    func(path string) error
	remove func(path string) error

	// tree is what is watched, by volume; only the event loop touches it
	// once NewWatcher has returned.
	tree       map[string]*volumeWatch
	rootStrays map[string]bool
	// limitLogged keeps a watch limit that stays reached from logging at
	// every reconcile.
	limitLogged bool

	stats     watchCounters
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

// WatchStats count what the watcher has been through, for logs and tests.
type WatchStats struct {
	Watches   int // directories watched now
	Overflows int // times the kernel's event queue overflowed
	Errors    int // other errors the watcher reported
	Unwatched int // directories that could not be watched
}

type watchCounters struct {
	watches, overflows, errors, unwatched atomic.Int64
}

// NewWatcher watches root, its volumes and their machine directories.
// Events are collected from then on, but handed to cfg.Handler only once
// Start is called: the owner scans everything in between, knowing that
// nothing that changes from now on can be missed.
func NewWatcher(root string, cfg WatchConfig) (*Watcher, error) {
	if cfg.Handler == nil {
		return nil, errors.New("fsscan: NewWatcher needs a Handler")
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
		return nil, pathError("watch machines root", root, err)
	}
	root = strings.TrimSuffix(root, "/")
	w := &Watcher{
		root: root, prefix: root + "/", cfg: cfg, log: cfg.Log, fsw: fsw,
		tree: map[string]*volumeWatch{}, rootStrays: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	w.add, w.remove = fsw.Add, fsw.Remove
	w.q = newQueue(cfg.Debounce, cfg.MaxDelay, cfg.Settle, w.dispatch)
	if err := w.add(root); err != nil {
		fsw.Close()
		return nil, pathError("watch machines root", root, err)
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

// Stats returns the watcher's counters.
func (w *Watcher) Stats() WatchStats {
	return WatchStats{
		Watches:   int(w.stats.watches.Load()),
		Overflows: int(w.stats.overflows.Load()),
		Errors:    int(w.stats.errors.Load()),
		Unwatched: int(w.stats.unwatched.Load()),
	}
}

func (w *Watcher) dispatch(t target, reasons []string) bool {
	if t == everything {
		w.cfg.Handler.RescanAll(reasons)
		return false
	}
	return w.cfg.Handler.RescanMachine(t.volume, t.machine)
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
			w.handle(e)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.lost(err)
		case <-tick:
			w.resync()
			w.q.touch(everything, ReasonReconcile)
		}
	}
}

// lost handles an error from inotify: events may have been lost, so
// watches are brought up to date and everything is rescanned.
func (w *Watcher) lost(err error) {
	reason := ReasonWatchError
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		reason = ReasonOverflow
		w.stats.overflows.Add(1)
		w.log.Warn("inotify event queue overflowed: events were lost; rescanning everything (raise fs.inotify.max_queued_events if this recurs)", "root", w.root)
	} else {
		w.stats.errors.Add(1)
		w.log.Error("watcher error; rescanning everything", "root", w.root, "err", err)
	}
	w.resync()
	w.q.touch(everything, reason)
}

// handle turns one event into watch changes and rescan requests. The
// event's name says where it happened: an entry of the root (a volume),
// of a volume (a machine directory) or of a machine directory.
func (w *Watcher) handle(e fsnotify.Event) {
	if e.Op == fsnotify.Write {
		return // a file's contents changed: no entry came, went or changed kind
	}
	if e.Name == w.root {
		if e.Has(fsnotify.Remove) || e.Has(fsnotify.Rename) {
			w.log.Error("the machines root was removed or moved away", "root", w.root)
			w.q.touch(everything, ReasonRoot)
		}
		return
	}
	rel, ok := strings.CutPrefix(e.Name, w.prefix)
	if !ok {
		return
	}
	volume, rest, _ := strings.Cut(rel, "/")
	if rest == "" {
		w.rootEntry(volume, e.Op)
		return
	}
	machine, entry, _ := strings.Cut(rest, "/")
	switch {
	case entry == "":
		w.volumeEntry(volume, machine, e.Op)
	case !strings.Contains(entry, "/"):
		w.q.touch(target{volume, machine}, "")
	}
}

// rootEntry handles an entry of the machines root coming or going: a
// volume, or a stray. Only a full rescan updates the root's strays and
// drops the machines of a volume gone.
func (w *Watcher) rootEntry(name string, op fsnotify.Op) {
	if IsTempName(name) {
		return
	}
	switch {
	case op.Has(fsnotify.Create):
		if ValidVolumeName(name) == nil && isDir(w.prefix+name) {
			delete(w.rootStrays, name)
			w.addVolume(name)
			return
		}
		w.rootStrays[name] = true
	case op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename):
		switch {
		case w.tree[name] != nil:
			w.dropVolume(name)
		case w.rootStrays[name]:
			delete(w.rootStrays, name)
		default:
			return // the second event of a volume moved away
		}
	default:
		return
	}
	w.q.touch(everything, ReasonRoot)
}

// volumeEntry handles an entry of a volume coming or going: a machine
// directory, or a stray.
func (w *Watcher) volumeEntry(volume, name string, op fsnotify.Op) {
	vw := w.tree[volume]
	if vw == nil || IsTempName(name) {
		return
	}
	t := target{volume, name}
	valid := ValidMachineName(name) == nil
	switch {
	case op.Has(fsnotify.Create):
		if valid && isDir(w.dir(t)) {
			delete(vw.strays, name)
			// Watched before it is scanned, so that nothing created in it
			// in between is missed.
			w.addMachine(vw, t)
			w.q.touch(t, "")
			return
		}
		vw.strays[name] = true
	case op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename):
		switch {
		case vw.machines[name]:
			w.unwatch(w.dir(t))
			delete(vw.machines, name)
			w.recount()
			w.q.touch(t, "")
			return
		case vw.strays[name]:
			delete(vw.strays, name)
		default:
			if valid {
				// A machine directory that could not be watched, or the
				// second event of one moved away: its record must go.
				w.q.touch(t, "")
			}
			return
		}
	default:
		return
	}
	if valid {
		// A file or link under a machine's name: a record of that name
		// (the directory it replaced) must go.
		w.q.touch(t, "")
	}
	w.q.touch(everything, ReasonVolume) // the volume's strays changed
}

func (w *Watcher) dir(t target) string { return w.prefix + t.volume + "/" + t.machine }

// addVolume watches a volume that appeared, then its machine directories,
// and asks for each to be scanned.
func (w *Watcher) addVolume(name string) {
	if !w.watch(w.prefix + name) {
		return
	}
	vw := w.tree[name]
	if vw == nil {
		vw = newVolumeWatch()
		w.tree[name] = vw
	}
	machines, strays := w.syncMachines(name, vw)
	w.recount()
	for _, m := range machines {
		w.q.touch(target{name, m}, "")
	}
	if strays {
		w.q.touch(everything, ReasonVolume)
	}
}

func (w *Watcher) dropVolume(name string) {
	vw := w.tree[name]
	if vw == nil {
		return
	}
	for m := range vw.machines {
		w.unwatch(w.prefix + name + "/" + m)
	}
	w.unwatch(w.prefix + name)
	delete(w.tree, name)
	w.recount()
}

func (w *Watcher) addMachine(vw *volumeWatch, t target) {
	if w.watch(w.dir(t)) {
		vw.machines[t.machine] = true
		w.recount()
	}
}

// watch adds a watch on path. False when that failed: it is logged and
// everything is rescanned, so that the directory is at least scanned, and
// the next reconcile tries again.
func (w *Watcher) watch(path string) bool {
	err := w.add(path)
	if err == nil {
		return true
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false // gone again: its removal raises an event of its own
	}
	w.stats.unwatched.Add(1)
	if errors.Is(err, errNoSpace) {
		if !w.limitLogged {
			w.limitLogged = true
			w.log.Error("inotify watch limit reached: raise fs.inotify.max_user_watches; until then, changes there are found by the periodic reconcile", "path", path)
		}
	} else {
		w.log.Warn("cannot watch directory; changes there are found by the periodic reconcile", "path", path, "err", err)
	}
	w.q.touch(everything, ReasonUnwatched)
	return false
}

// unwatch drops the watch on path. Errors are expected: the kernel drops
// the watch of a deleted directory by itself.
func (w *Watcher) unwatch(path string) { _ = w.remove(path) }
