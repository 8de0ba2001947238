package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// interleave runs a and b by turns, n times each, so that both see the
// same state of the disk and the machine, and returns their medians.
func interleave(n int, a, b func(i int) time.Duration) (ma, mb time.Duration) {
	var as, bs []time.Duration
	for i := range n {
		as = append(as, a(i))
		bs = append(bs, b(i))
	}
	return median(as), median(bs)
}

func medianOf(n int, f func() time.Duration) time.Duration {
	var ds []time.Duration
	for range n {
		ds = append(ds, f())
	}
	return median(ds)
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// workers runs cycle on 16 (or n) goroutines until stop says so, and
// returns how many cycles ended.
func workers(n int, stop func(done int64) bool, cycle func(i int)) int64 {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop(done.Load()) {
				cycle(int(next.Add(1)))
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load()
}

// parallelCycles is the wall time per cycle of n workers doing total
// cycles, bmsched and btrfs-progs in four alternating batches each.
func parallelCycles(b *testing.B, n, total int, d *farmDaemon, f *farm) (bm, bp time.Duration) {
	batch := int64(max(total/4, n))
	var tm, tp time.Duration
	var cm, cp int64
	for range 4 {
		start := time.Now()
		cm += workers(n, func(done int64) bool { return done >= batch }, func(i int) { d.cycle(b, f.hot(i)) })
		tm += time.Since(start)
		start = time.Now()
		cp += workers(n, func(done int64) bool { return done >= batch }, func(i int) { f.btrfsCycle(b, f.hot(i)) })
		tp += time.Since(start)
	}
	return tm / time.Duration(cm), tp / time.Duration(cp)
}

// sustained is cycles per second of n workers over d each, in six
// alternating slices: long enough for the pool's refills and the
// deleter's backlog to be part of the rate.
func sustained(b *testing.B, n int, total time.Duration, d *farmDaemon, f *farm) (bm, bp float64) {
	slice := total / 6
	var cm, cp int64
	for range 6 {
		end := time.Now().Add(slice)
		cm += workers(n, func(int64) bool { return time.Now().After(end) }, func(i int) { d.cycle(b, f.hot(i)) })
		end = time.Now().Add(slice)
		cp += workers(n, func(int64) bool { return time.Now().After(end) }, func(i int) { f.btrfsCycle(b, f.hot(i)) })
	}
	secs := (slice * 6).Seconds()
	return float64(cm) / secs, float64(cp) / secs
}

// linkSwitches moves the last machine's link between its revisions n
// times, as the manual does it (ln -s, then mv -T), and times each until
// show reports the new current revision, polled every millisecond over
// the socket; with churn, 16 workers acquire and release meanwhile.
func linkSwitches(b *testing.B, d *farmDaemon, f *farm, n int, churn bool) []time.Duration {
	name := f.linked()
	dir := filepath.Join(f.vol, name)
	var stop atomic.Bool
	var wg sync.WaitGroup
	if churn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			workers(16, func(int64) bool { return stop.Load() }, func(i int) { d.cycle(b, f.hot(i)) })
		}()
		time.Sleep(time.Second)
	}
	var ds []time.Duration
	for i := range n {
		rev := uint64(1 + i%2) // 2 is current at first: 1, 2, 1, …, ending on 2
		tmp := filepath.Join(dir, ".new-link")
		must(b, os.Symlink(name+"-"+strconv.FormatUint(rev, 10), tmp))
		start := time.Now()
		must(b, os.Rename(tmp, filepath.Join(dir, name)))
		for {
			var m struct{ Current *uint64 }
			must(b, d.get("/v1/machine?m="+name, &m))
			if m.Current != nil && *m.Current == rev {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("show %s: current still %v 30s after the link moved to revision %d", name, m.Current, rev)
			}
			time.Sleep(time.Millisecond)
		}
		ds = append(ds, time.Since(start))
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	return ds
}

// deletes times `bmsched delete` of the delete machines from the release
// of its one lease, sent over the socket, to the end of the delete, against
// btrfs-progs deleting the same subvolumes (the snapshot, the two
// revisions and the three images) of a copy of the machine.
func deletes(b *testing.B, d *farmDaemon, f *farm) (bm, bp time.Duration) {
	var ms, ps []time.Duration
	for i, name := range f.dels {
		ms = append(ms, timeDelete(b, d, name))
		copyDir := filepath.Join(f.cliDir, fmt.Sprintf("copy%d", i))
		must(b, os.Mkdir(copyDir, 0o755))
		must(b, layMachine(copyDir, name))
		paths := []string{filepath.Join(copyDir, name, "snap")}
		runOrFatal(b, "btrfs", "-q", "subvolume", "snapshot", filepath.Join(copyDir, name, name+"-gcc"), paths[0])
		for _, s := range append([]string{"1", "2"}, farmToolchains...) {
			paths = append(paths, filepath.Join(copyDir, name, name+"-"+s))
		}
		start := time.Now()
		runOrFatal(b, "btrfs", append([]string{"-q", "subvolume", "delete"}, paths...)...)
		must(b, os.RemoveAll(copyDir))
		ps = append(ps, time.Since(start))
	}
	return median(ms), median(ps)
}

func timeDelete(b *testing.B, d *farmDaemon, name string) time.Duration {
	out := d.cli(b, "--json", "acquire", name, "gcc")
	var l struct{ ID uint64 }
	must(b, json.Unmarshal(out, &l))
	del := exec.Command(d.bin, "--socket", d.sock, "delete", name)
	must(b, del.Start())
	for {
		var m struct{ State string }
		must(b, d.get("/v1/machine?m="+name, &m))
		if m.State != "active" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// The release goes straight over the socket: a client process's start
	// is not the delete's to pay.
	start := time.Now()
	must(b, d.post(fmt.Sprintf("/v1/leases/%d/release", l.ID), map[string]string{}, nil))
	if err := del.Wait(); err != nil {
		b.Fatalf("delete %s: %v", name, err)
	}
	return time.Since(start)
}
