package watch

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// call is one request a watcher made of its handler.
type call struct {
	target  target
	reasons []string
	changed []string // entries named to RescanMachine; nil for all
}

// recorder is a Handler that records its calls and lets tests wait
// for one.
type recorder struct {
	mu      sync.Mutex
	calls   []call
	changed chan struct{} // closed and replaced at every call
	// onMachine, when set, runs inside RescanMachine and says whether the
	// directory is unsettled.
	onMachine func(volume, name string) bool
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) RescanMachine(volume, name string, changed []string) bool {
	unsettled := false
	if r.onMachine != nil {
		unsettled = r.onMachine(volume, name)
	}
	r.add(call{target: target{volume, name}, changed: changed})
	return unsettled
}

func (r *recorder) RescanAll(reasons []string) { r.add(call{target: everything, reasons: reasons}) }

func (r *recorder) add(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	close(r.changed)
	r.changed = make(chan struct{})
}

// count returns how many calls were made for t.
func (r *recorder) count(t target) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.target == t {
			n++
		}
	}
	return n
}

// reasons returns every reason given for rescanning everything.
func (r *recorder) reasons() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.reasons...)
	}
	return out
}

// waitFor waits until cond holds, failing the test after 5s. It checks
// at every call, and every few milliseconds for conditions on the
// watcher's own state, which no call signals.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("timed out waiting for %s; calls: %+v", what, r.calls)
		}
	}
}

// waitCount waits until t was rescanned at least n times.
func (r *recorder) waitCount(tt *testing.T, t target, n int) {
	tt.Helper()
	r.waitFor(tt, fmt.Sprintf("%d rescans of %v", n, t), func() bool { return r.count(t) >= n })
}

// fixture is a machines root with volume "default" holding machine "m".
func fixture(t *testing.T) string {
	root := t.TempDir()
	mustMkdir(t, filepath.Join(root, "default", "m"))
	return root
}

func mustMkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustRun(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func startWatcher(t *testing.T, root string, r *recorder, cfg Config) *Watcher {
	t.Helper()
	cfg.Handler = r
	cfg.Log = testLogger(t)
	w, err := New(root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	w.Start()
	return w
}

var mT = target{"default", "m"}

// testLogger logs to the test's log, shown only when it fails.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestWatchBurstIsCoalesced(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	w := startWatcher(t, root, r, Config{Debounce: 30 * time.Millisecond, MaxDelay: time.Second})
	if got := w.Stats().Watches; got != 3 {
		t.Errorf("watches = %d, want 3 (root, volume, machine)", got)
	}
	// More names than are kept, even split over the 3 rescans allowed.
	const burst = 3*maxEntries + 100
	for i := range burst {
		mustRun(t, os.WriteFile(filepath.Join(root, "default", "m", fmt.Sprint("f", i)), nil, 0o644))
	}
	r.waitCount(t, mT, 1)
	r.waitFor(t, "the burst to settle", func() bool { return !w.q.pending(mT) })
	if n := r.count(mT); n > 3 {
		t.Errorf("%d entries made %d rescans; want them coalesced into at most 3", burst, n)
	}
	if n := r.count(everything); n != 0 {
		t.Errorf("entries of a machine directory asked for %d full rescans: %v", n, r.reasons())
	}
	// More names than are kept: the handler is told to look at it all.
	if !r.any(mT, func(c call) bool { return c.changed == nil }) {
		t.Errorf("a burst of %d entries was named in full, want the whole directory looked at", burst)
	}
}

// any reports whether a call for t satisfies cond.
func (r *recorder) any(t target, cond func(call) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c.target == t && cond(c) {
			return true
		}
	}
	return false
}

// last returns the latest call for t.
func (r *recorder) last(t target) call {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.calls) - 1; i >= 0; i-- {
		if r.calls[i].target == t {
			return r.calls[i]
		}
	}
	return call{}
}

// A change made while its directory is being scanned gets a scan of its
// own after: the scan under way may have read the directory before it.
func TestWatchChangeDuringScan(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	var once sync.Once
	r.onMachine = func(volume, name string) bool {
		once.Do(func() { mustRun(t, os.WriteFile(filepath.Join(root, volume, name, "late"), nil, 0o644)) })
		return false
	}
	startWatcher(t, root, r, Config{})
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "m", "first"), nil, 0o644))
	r.waitCount(t, mT, 2)
}

// A new machine directory is watched as soon as its creation is seen,
// before it is scanned: what is created in it at once still raises events.
func TestWatchNewMachine(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	var seen atomic.Int32
	n := target{"default", "n"}
	r.onMachine = func(volume, name string) bool {
		if (target{volume, name}) == n {
			if _, err := os.Lstat(filepath.Join(root, "default", "n", "n-1")); err == nil {
				seen.Store(1)
			}
		}
		return false
	}
	w := startWatcher(t, root, r, Config{})
	mustMkdir(t, filepath.Join(root, "default", "n"))
	mustMkdir(t, filepath.Join(root, "default", "n", "n-1"))
	r.waitFor(t, "a rescan of n that sees n-1", func() bool { return seen.Load() == 1 })
	r.waitFor(t, "4 watches", func() bool { return w.Stats().Watches == 4 })

	// Nothing inside an entry of a machine directory is watched.
	before := r.count(n)
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "n", "n-1", "inside"), nil, 0o644))
	// Events are queued in order: once a later change is rescanned, an
	// event from inside n-1, had there been one, was handled already.
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "m", "marker"), nil, 0o644))
	r.waitCount(t, mT, 1)
	if r.count(n) != before || w.q.pending(n) {
		t.Errorf("a change inside n-1 asked for a rescan of n")
	}
}

// The manual's atomic switch, ln -s then mv -T, raises RENAME and CREATE
// but no REMOVE: it is seen all the same.
func TestWatchLinkSwitch(t *testing.T) {
	root := fixture(t)
	dir := filepath.Join(root, "default", "m")
	mustRun(t, os.Symlink("m-1", filepath.Join(dir, "m")))
	r := newRecorder()
	startWatcher(t, root, r, Config{})
	mustRun(t, os.Symlink("m-2", filepath.Join(dir, "new-m")))
	r.waitCount(t, mT, 1)
	mustRun(t, os.Rename(filepath.Join(dir, "new-m"), filepath.Join(dir, "m")))
	r.waitCount(t, mT, 2)
}

func TestWatchMachineGone(t *testing.T) {
	root := fixture(t)
	mustMkdir(t, filepath.Join(root, "default", "k"))
	r := newRecorder()
	w := startWatcher(t, root, r, Config{})
	mustRun(t, os.Remove(filepath.Join(root, "default", "m")))
	r.waitCount(t, mT, 1)
	// Moved away (its parent's event and its own): the old name is
	// rescanned, the new one found.
	mustRun(t, os.Rename(filepath.Join(root, "default", "k"), filepath.Join(root, "default", "k2")))
	r.waitCount(t, target{"default", "k"}, 1)
	r.waitCount(t, target{"default", "k2"}, 1)
	r.waitFor(t, "watches of root, volume and k2", func() bool { return w.Stats().Watches == 3 })
	if n := r.count(everything); n != 0 {
		t.Errorf("machine directories coming and going asked for %d full rescans: %v", n, r.reasons())
	}
	// The new name is watched.
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "k2", "x"), nil, 0o644))
	r.waitCount(t, target{"default", "k2"}, 2)
}

// A volume moved in whole, machine directories and all, is watched and
// its machines are scanned; a volume going rescans everything, which is
// what drops its machines.
func TestWatchVolume(t *testing.T) {
	root := fixture(t)
	staging := t.TempDir()
	mustMkdir(t, filepath.Join(staging, "v2", "a"))
	r := newRecorder()
	w := startWatcher(t, root, r, Config{})
	mustRun(t, os.Rename(filepath.Join(staging, "v2"), filepath.Join(root, "v2")))
	a := target{"v2", "a"}
	r.waitCount(t, a, 1)
	mustRun(t, os.WriteFile(filepath.Join(root, "v2", "a", "x"), nil, 0o644))
	r.waitCount(t, a, 2)
	if got := w.Stats().Watches; got != 5 {
		t.Errorf("watches = %d, want 5", got)
	}
	mustRun(t, os.RemoveAll(filepath.Join(root, "v2")))
	r.waitFor(t, "a full rescan", func() bool { return slices.Contains(r.reasons(), ReasonRoot) })
	r.waitFor(t, "3 watches", func() bool { return w.Stats().Watches == 3 })
}

// Strays coming and going change the lists of strays, which only a full
// rescan updates; bmsched's own temporaries are not strays.
func TestWatchStrays(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	startWatcher(t, root, r, Config{})
	mustRun(t, os.WriteFile(filepath.Join(root, "default", ".bmsched-tmp"), nil, 0o644))
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "notes.txt"), nil, 0o644))
	r.waitFor(t, "a rescan for the stray", func() bool { return slices.Contains(r.reasons(), ReasonVolume) })
	mustRun(t, os.Remove(filepath.Join(root, "default", "notes.txt")))
	r.waitCount(t, everything, 2)
	mustRun(t, os.WriteFile(filepath.Join(root, "README"), nil, 0o644))
	r.waitFor(t, "a rescan for the root's stray", func() bool { return slices.Contains(r.reasons(), ReasonRoot) })
}

// Events lost to an overflowing queue are made up for by watching again
// whatever appeared meanwhile and rescanning everything.
func TestWatchOverflow(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	w := startWatcher(t, root, r, Config{})
	dir := filepath.Join(root, "default", "m")

	// Holding the queue stalls the event loop at its first event, and with
	// it the reading of the kernel's queue, which is bounded (16384 events
	// by default): 20000 entries overflow it for certain.
	w.q.mu.Lock()
	for i := range 20000 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprint("f", i)))
		if err != nil {
			w.q.mu.Unlock()
			t.Fatal(err)
		}
		f.Close()
	}
	// A machine directory made while events are being lost.
	late := filepath.Join(root, "default", "late")
	err := os.Mkdir(late, 0o755)
	w.q.mu.Unlock()
	mustRun(t, err)

	r.waitFor(t, "a full rescan for the overflow", func() bool { return slices.Contains(r.reasons(), ReasonOverflow) })
	if got := w.Stats().Overflows; got < 1 {
		t.Errorf("overflows = %d, want at least 1", got)
	}
	// The directory made during the overflow was found and is watched.
	mustRun(t, os.WriteFile(filepath.Join(late, "x"), nil, 0o644))
	r.waitCount(t, target{"default", "late"}, 1)
}

// When the watch limit is reached the directory is still scanned, every-
// thing is rescanned, and the next reconcile watches it once it can.
func TestWatchLimit(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	var limited atomic.Bool
	limited.Store(true)
	w := startWatcher(t, root, r, Config{
		Reconcile: 100 * time.Millisecond,
		wrapAdd: func(add func(string) error) func(string) error {
			return func(path string) error {
				if limited.Load() && strings.HasSuffix(path, "/n") {
					return syscall.ENOSPC
				}
				return add(path)
			}
		},
	})
	n := target{"default", "n"}
	mustMkdir(t, filepath.Join(root, "default", "n"))
	r.waitCount(t, n, 1)
	r.waitFor(t, "a full rescan for the unwatched directory", func() bool { return slices.Contains(r.reasons(), ReasonUnwatched) })
	if w.Stats().Unwatched < 1 {
		t.Errorf("unwatched = %d, want at least 1", w.Stats().Unwatched)
	}
	limited.Store(false)
	r.waitFor(t, "the reconcile to watch n", func() bool { return w.Stats().Watches == 4 })
	before := r.count(n)
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "n", "x"), nil, 0o644))
	r.waitCount(t, n, before+1)
}

// A directory its handler calls unsettled is looked at again at the
// settle delays, and no more; a new event starts them over.
func TestWatchSettle(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	r.onMachine = func(string, string) bool { return true }
	settle := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	w := startWatcher(t, root, r, Config{Settle: settle})
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "m", "x"), nil, 0o644))
	r.waitCount(t, mT, 1+len(settle))
	r.waitFor(t, "the look-agains to stop", func() bool { return !w.q.pending(mT) })
	if n := r.count(mT); n != 1+len(settle) {
		t.Errorf("%d rescans, want %d: one for the event and one per settle delay", n, 1+len(settle))
	}
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "m", "y"), nil, 0o644))
	r.waitCount(t, mT, 2*(1+len(settle)))
}

func TestWatchReconcile(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	startWatcher(t, root, r, Config{Reconcile: 30 * time.Millisecond})
	r.waitFor(t, "two reconciles", func() bool {
		n := 0
		for _, s := range r.reasons() {
			if s == ReasonReconcile {
				n++
			}
		}
		return n >= 2
	})
}

// Changes made before Start are handed over at Start, not lost.
func TestWatchBeforeStart(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	w, err := New(root, Config{Handler: r, Log: testLogger(t)})
	mustRun(t, err)
	defer w.Close()
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "m", "x"), nil, 0o644))
	r.waitFor(t, "the change to be queued", func() bool {
		w.q.mu.Lock()
		defer w.q.mu.Unlock()
		return len(w.q.ready) == 1
	})
	if r.count(mT) != 0 {
		t.Fatal("the handler was called before Start")
	}
	w.Start()
	r.waitCount(t, mT, 1)
}

func TestWatchRootMissing(t *testing.T) {
	_, err := New(filepath.Join(t.TempDir(), "nosuch"), Config{Handler: newRecorder()})
	if err == nil || !strings.Contains(err.Error(), "watch machines root") || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("New on a missing root: %v; want the op and the path", err)
	}
}

// The warm pool's snapshots come and go with every refill and take: no
// rescan for them, while any other entry of the directory still gets one.
func TestWatchIgnoresWarm(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	startWatcher(t, root, r, Config{Debounce: 10 * time.Millisecond})
	dir := filepath.Join(root, "default", "m")
	warm := filepath.Join(dir, ".bmsched-warm-gcc-1")
	mustRun(t, os.Mkdir(warm, 0o755))
	mustRun(t, os.Rename(warm, warm+"0"))
	mustRun(t, os.Remove(warm+"0"))
	// Well past the debounce: a rescan they asked for would have run.
	time.Sleep(150 * time.Millisecond)
	if n := r.count(mT); n != 0 {
		t.Errorf("the warm pool's entries asked for %d rescans of the machine, want none: %+v", n, r.calls)
	}
	// Any other entry still does.
	mustRun(t, os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644))
	r.waitCount(t, mT, 1)
}
