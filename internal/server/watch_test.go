package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/server"
)

// list is `bmsched list --json` through the socket.
func (d *daemon) list() api.List {
	d.t.Helper()
	var l api.List
	if err := d.client.Do(context.Background(), "GET", "/v1/machines", nil, &l); err != nil {
		d.t.Fatal(err)
	}
	return l
}

func (d *daemon) events() []api.Event {
	d.t.Helper()
	var es api.Events
	if err := d.client.Do(context.Background(), "GET", "/v1/events?n=10000", nil, &es); err != nil {
		d.t.Fatal(err)
	}
	return es.Events
}

// hasEvent reports whether an event of kind has a message containing text.
func hasEvent(es []api.Event, source, kind, text string) bool {
	return slices.ContainsFunc(es, func(e api.Event) bool {
		return e.Source == source && e.Kind == kind && strings.Contains(e.Message, text)
	})
}

// summary is what `list` must agree with a fresh scan on, per machine.
type summary struct {
	State      string
	Current    uint64
	Revisions  []string // rev:readonly
	Toolchains []string // name:stale
	Snapshots  []string
	Strays     []string
}

func summarizeList(l api.List) map[string]summary {
	out := map[string]summary{}
	for _, m := range l.Machines {
		s := summary{State: m.State}
		if m.Current != nil {
			s.Current = *m.Current
		}
		for _, r := range m.Revisions {
			s.Revisions = append(s.Revisions, fmt.Sprintf("%d:%t", r.Rev, r.Readonly))
		}
		for _, tc := range m.Toolchains {
			s.Toolchains = append(s.Toolchains, fmt.Sprintf("%s:%t", tc.Name, tc.Stale))
		}
		for _, sn := range m.Snapshots {
			s.Snapshots = append(s.Snapshots, sn.Name)
		}
		for _, st := range m.Strays {
			s.Strays = append(s.Strays, st.Name)
		}
		out[m.Volume+"/"+m.Name] = s
	}
	return out
}

func summarizeScan(t *testing.T, root string, drv btrfs.Driver) map[string]summary {
	t.Helper()
	root0, err := fsscan.ReadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]summary{}
	for _, vol := range root0.Dirs {
		v, err := fsscan.ReadVolume(filepath.Join(root, vol))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range v.Dirs {
			m, err := fsscan.ScanMachine(filepath.Join(root, vol, name), drv)
			if err != nil {
				t.Fatal(err)
			}
			s := summary{State: string(m.State), Current: m.Current}
			for _, rv := range m.Revisions {
				s.Revisions = append(s.Revisions, fmt.Sprintf("%d:%t", rv.Rev, rv.Info.Readonly))
			}
			for _, im := range m.Images {
				s.Toolchains = append(s.Toolchains, fmt.Sprintf("%s:%t", im.Toolchain, im.Stale))
			}
			for _, sn := range m.Snapshots {
				s.Snapshots = append(s.Snapshots, sn.Name)
			}
			for _, st := range m.Strays {
				s.Strays = append(s.Strays, st.Name)
			}
			out[vol+"/"+name] = s
		}
	}
	return out
}

// shrinkInotifyQueue lowers fs.inotify.max_queued_events to n. An inotify
// instance takes the limit when it is made, so restore may be called as
// soon as the daemon has started, keeping other processes' instances
// made meanwhile few; it also runs when the test ends.
func shrinkInotifyQueue(t *testing.T, n int) (restore func()) {
	t.Helper()
	const knob = "/proc/sys/fs/inotify/max_queued_events"
	old, err := os.ReadFile(knob)
	if err != nil {
		t.Skipf("cannot read %s: %v", knob, err)
	}
	if err := os.WriteFile(knob, []byte(strconv.Itoa(n)), 0); err != nil {
		t.Skipf("cannot lower %s (needs root): %v", knob, err)
	}
	done := false
	restore = func() {
		if done {
			return
		}
		done = true
		if err := os.WriteFile(knob, old, 0); err != nil {
			t.Errorf("restore %s to %s: %v", knob, strings.TrimSpace(string(old)), err)
		}
	}
	t.Cleanup(restore)
	return restore
}

// logTail keeps what the daemon logs, for tests to look for a message.
type logTail struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logTail) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// A flood of entries overflows the kernel's event queue; changes made in
// the middle of it, whose events are lost, are found all the same, and
// what the watcher watches is complete again after.
func TestWatchFloodIsExact(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		drv := driverOf(t, root)
		dir := addMachine(t, drv, vol, "lin", "gcc")
		restore := shrinkInotifyQueue(t, 16)
		logged := &logTail{}
		d := startDaemon(t, root, server.Config{Log: slog.New(slog.NewTextHandler(
			io.MultiWriter(&testLog{t: t}, logged), &slog.HandlerOptions{Level: slog.LevelWarn}))})
		restore()

		const n = 20000
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		flood := func(from, to int) {
			for i := from; i < to; i++ {
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("flood-%05d", i)))
				must(err)
				must(f.Close())
			}
		}
		flood(0, n/2)
		// Mid-flood: a new machine made active, and lin upgraded.
		late := filepath.Join(vol, "late")
		must(os.Mkdir(late, 0o755))
		must(drv.Create(filepath.Join(late, "late-1")))
		must(drv.SetReadOnly(filepath.Join(late, "late-1"), true))
		must(os.Symlink("late-1", filepath.Join(late, "late")))
		must(drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, "lin-2"), true))
		must(os.Symlink("lin-2", filepath.Join(dir, "new-lin")))
		must(os.Rename(filepath.Join(dir, "new-lin"), filepath.Join(dir, "lin")))
		flood(n/2, n)

		want := summarizeScan(t, root, drv)
		if got := len(want["default/lin"].Strays); got != n {
			t.Fatalf("the scan finds %d strays, want %d", got, n)
		}
		var got map[string]summary
		eventually(t, 30*time.Second, "list agrees with a fresh scan", func() bool {
			got = summarizeList(d.list())
			return reflect.DeepEqual(got, want)
		})
		if got["default/lin"].Current != 2 || got["default/late"].State != "active" {
			t.Errorf("after the flood: lin %+v, late %+v", got["default/lin"].Current, got["default/late"].State)
		}
		// The daemon's log is the witness that the queue overflowed.
		if !logged.contains("inotify event queue overflowed") {
			t.Errorf("no overflow logged: the flood did not overflow a 16-event queue, or it went unreported")
		}

		// The machine made while events were lost is watched again.
		must(os.Remove(filepath.Join(late, "late")))
		// (Well within the 2-minute reconcile, which is the other way
		// this could come to pass, and loose enough for a loaded CI.)
		eventually(t, 10*time.Second, "late turns pending", func() bool {
			return summarizeList(d.list())["default/late"].State == "pending"
		})
	})
}

// A machine directory removed whole, snapshots and all, ends the leases
// on its snapshots, running and held alike, with an event each.
func TestWatchRemovedMachineEndsLeases(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		drv := driverOf(t, root)
		dir := addMachine(t, drv, vol, "lin", "gcc")
		d := startDaemon(t, root, server.Config{})
		ctx := context.Background()
		l1, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		l2, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.release(ctx, l2.ID, "1h"); err != nil {
			t.Fatal(err)
		}

		removeMachineDir(t, drv, dir)
		eventually(t, 2*time.Second, "lin gone and its leases ended", func() bool {
			return len(d.list().Machines) == 0 && len(d.leases(ctx, false).Leases) == 0
		})
		es := d.events()
		for _, l := range []api.Lease{l1, l2} {
			if !hasEvent(es, "watch", "lease-vanished", fmt.Sprintf("lease %d ended: its snapshot %s vanished", l.ID, l.Path)) {
				t.Errorf("no lease-vanished event for lease %d", l.ID)
			}
		}
		if !hasEvent(es, "watch", "machine-gone", "default/lin") {
			t.Error("no machine-gone event")
		}
		// Ended once: releasing now says so, and nothing was logged twice.
		msg, err := d.release(ctx, l1.ID, "")
		if err != nil || !strings.Contains(msg, "already ended") {
			t.Errorf("release after the lease vanished: %q, %v", msg, err)
		}
		n := 0
		for _, e := range d.events() {
			if e.Lease == l1.ID && strings.HasPrefix(e.Kind, "lease-") && e.Kind != "lease-acquired" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("lease %d has %d end events, want 1", l1.ID, n)
		}
	})
}

// removeMachineDir deletes a machine directory and everything in it, as an
// operator would: each subvolume (read-only ones made writable first),
// then the rest.
func removeMachineDir(t *testing.T, drv btrfs.Driver, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if sub, _ := drv.IsSubvolume(p); sub && e.IsDir() {
			err = drv.Delete(context.Background(), p)
		} else {
			err = os.RemoveAll(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
}

// Toggling btrfs's read-only flag raises no event; the periodic reconcile
// finds it.
func TestReconcileFindsWhatRaisesNoEvent(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		drv := driverOf(t, root)
		if drv.Name() != "btrfs" {
			t.Skip("on plain directories the read-only flag is an extended attribute: setting it raises an event")
		}
		dir := addMachine(t, drv, vol, "lin")
		d := startDaemon(t, root, server.Config{ReconcileEvery: 200 * time.Millisecond})
		if err := drv.SetReadOnly(filepath.Join(dir, "lin-1"), false); err != nil {
			t.Fatal(err)
		}
		eventually(t, 3*time.Second, "the reconcile to see revision 1 writable", func() bool {
			return slices.Equal(summarizeList(d.list())["default/lin"].Revisions, []string{"1:false"})
		})
		if !hasEvent(d.events(), "reconcile", "revision-readonly", "revision 1 read-only: false") {
			t.Error("no revision-readonly event from the reconcile")
		}
	})
}

// events --follow: the newest events, then each new one as it comes;
// the stream ends when the daemon stops, without holding up its stop.
func TestEventsFollow(t *testing.T) {
	root, vol := newRoot(t, t.TempDir())
	d := startDaemon(t, root, server.Config{})
	ctx := context.Background()

	var e *api.Error
	if _, err := d.client.Stream(ctx, "GET", "/v1/events/follow?n=-1"); !errors.As(err, &e) || e.Exit != api.ExitUsage {
		t.Errorf("n=-1: %v, want a usage error", err)
	}

	all, err := d.client.Stream(ctx, "GET", "/v1/events/follow?after=0")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	fresh, err := d.client.Stream(ctx, "GET", "/v1/events/follow?n=0")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	allLines, freshLines := readEvents(all), readEvents(fresh)

	if first := <-allLines; first.Kind != "boot" {
		t.Errorf("after=0 starts with %+v, want the boot event", first)
	}
	if second := <-allLines; second.Kind != "started" {
		t.Errorf("after=0 goes on with %+v, want the daemon's start", second)
	}
	if err := os.Mkdir(filepath.Join(vol, "lin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan api.Event{"after=0": allLines, "n=0": freshLines} {
		select {
		case ev := <-ch:
			if ev.Kind != "machine-appeared" || ev.Machine != "lin" {
				t.Errorf("%s: next event %+v, want lin appearing", name, ev)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: no event within 2s of a machine appearing", name)
		}
	}

	start := time.Now()
	d.stop()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping with followers took %v", took)
	}
	for name, ch := range map[string]<-chan api.Event{"after=0": allLines, "n=0": freshLines} {
		select {
		case ev, ok := <-ch:
			if ok {
				t.Errorf("%s: event %+v after the daemon stopped", name, ev)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: the stream did not end with the daemon", name)
		}
	}
}

// readEvents decodes a follow stream into a channel closed at its end.
func readEvents(r io.Reader) <-chan api.Event {
	ch := make(chan api.Event, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var e api.Event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				return
			}
			ch <- e
		}
	}()
	return ch
}
