package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The handler is told which entries changed, so that it can tell its own
// changes from others'; a machine directory that appears is looked at
// whole.
func TestWatchNamesChangedEntries(t *testing.T) {
	root := fixture(t)
	r := newRecorder()
	startWatcher(t, root, r, Config{Debounce: 50 * time.Millisecond})
	dir := filepath.Join(root, "default", "m")
	mustRun(t, os.WriteFile(filepath.Join(dir, "a"), nil, 0o644))
	mustRun(t, os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "b")))
	named := func(name string) func(call) bool {
		return func(c call) bool { return slices.Contains(c.changed, name) }
	}
	r.waitFor(t, "a and b named", func() bool { return r.any(mT, named("a")) && r.any(mT, named("b")) })
	if r.any(mT, func(c call) bool { return c.changed == nil }) {
		t.Error("entries of a machine directory that stays were not named")
	}

	n := target{"default", "n"}
	mustMkdir(t, filepath.Join(root, "default", "n"))
	r.waitCount(t, n, 1)
	if c := r.last(n); c.changed != nil {
		t.Errorf("a new machine directory named %q, want nil (the whole directory)", c.changed)
	}
}

// A link switch skips the debounce and has a worker of its own: it is
// scanned at once, even while snapshot churn keeps its directory's
// debounce going and every other worker is busy with a long rescan.
func TestWatchLinkSkipsTheQueue(t *testing.T) {
	root := fixture(t)
	mustMkdir(t, filepath.Join(root, "default", "n"))
	r := newRecorder()
	n := target{"default", "n"}
	block, blocked := make(chan struct{}), make(chan struct{}, 1)
	r.onMachine = func(volume, name string) bool {
		if (target{volume, name}) == n {
			blocked <- struct{}{}
			<-block
		}
		return false
	}
	defer close(block)
	startWatcher(t, root, r, Config{Debounce: 50 * time.Millisecond, MaxDelay: 10 * time.Second, Workers: 1})
	// The one ordinary worker is held by a rescan of n.
	mustRun(t, os.WriteFile(filepath.Join(root, "default", "n", "x"), nil, 0o644))
	<-blocked

	// Churn in m: each event puts its scan off by the debounce again.
	dir := filepath.Join(root, "default", "m")
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			p := filepath.Join(dir, ".bmsched-lease-1")
			if i%2 == 0 {
				_ = os.WriteFile(p, nil, 0o644)
			} else {
				_ = os.Remove(p)
			}
		}
	}()
	defer func() { close(stop); <-churned }()
	time.Sleep(100 * time.Millisecond)
	if c := r.count(mT); c != 0 {
		t.Fatalf("m rescanned %d times under churn with its worker busy; the test sees nothing", c)
	}

	start := time.Now()
	mustRun(t, os.Symlink("m-1", filepath.Join(dir, "m")))
	r.waitCount(t, mT, 1)
	if took := time.Since(start); took > time.Second {
		t.Errorf("the link was scanned %v after it was made, want at once", took)
	}
	if c := r.last(mT); !slices.Contains(c.changed, "m") {
		t.Errorf("the link's rescan named %q, want m among them", c.changed)
	}
}
