package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

// The farm benchmark's knobs. make bench runs it in full; CI runs it short
// (make bench BENCH=short) to prove that it still works, not to measure.
var (
	farmScales  = flag.String("farm.machines", "4,1000", "machine counts to measure at, comma-separated")
	farmLive    = flag.Int("farm.live", 2000, "leases held live during the cycles at the largest scale")
	farmMany    = flag.Int("farm.many", 10000, "leases held live for the leases --json and peak RSS rows")
	farmWarm    = flag.Int("farm.warm", 4, "serve --warm of the rows with the pool")
	farmCycles  = flag.Int("farm.cycles", 100, "serial cycles of each tool per row")
	farmSustain = flag.Duration("farm.sustain", time.Minute, "how long each tool cycles for the sustained row")
)

// BenchmarkFarm prints the one table of issue "fast at farm scale":
// bmsched against btrfs-progs on the same loop-mounted btrfs in the same
// run, interleaved, with ratios (bmsched's time over btrfs-progs's; below
// 1 is faster), at each scale, without a pool and with one. Run it once:
//
//	make bench                    # go test -run '^$' -bench '^BenchmarkFarm$' -benchtime 1x ./cmd/bmsched/
//	make bench BENCH=short        # the short form CI runs
//
// Cycles at 1,000 machines go round a hot set of 16 machines, as a farm's
// workers do, by bare name, with -farm.live other leases live; sustained
// rows run 16 workers for -farm.sustain each, in alternating slices, so
// the pool's refills and the deleter's work are in the figure.
func BenchmarkFarm(b *testing.B) {
	if _, err := exec.LookPath("btrfs"); err != nil {
		b.Fatal("btrfs-progs not installed: the farm benchmark compares against it")
	}
	if err := loopbtrfs.Available(); err != nil {
		b.Fatal(err)
	}
	scales, err := parseScales(*farmScales)
	if err != nil {
		b.Fatal(err)
	}
	bin := buildBmsched(b) // and bmschedd beside it, which serve runs
	t := &farmTable{}
	for i, n := range scales {
		largest := i == len(scales)-1
		benchScale(b, t, bin, n, largest)
	}
	t.print(os.Stdout, fmt.Sprintf("bmsched against btrfs-progs on a loop-mounted btrfs, %d CPUs, database on %s", runtime.NumCPU(), os.TempDir()))
}

func parseScales(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 4 {
			return nil, fmt.Errorf("-farm.machines: %q is not a machine count of at least 4", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchScale measures at one scale on a btrfs of its own.
func benchScale(b *testing.B, t *farmTable, bin string, n int, largest bool) {
	size := int64(1<<30) + int64(n)*(2<<20) + int64(*farmMany)*(64<<10)
	dir := b.TempDir()
	mnt, cleanup, err := loopbtrfs.Mount(dir, size)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := cleanup(); err != nil {
			b.Error(err)
		}
	}()
	f := layFarm(b, mnt, n)
	scale := fmt.Sprintf("%d machines", n)
	dbFile := filepath.Join(b.TempDir(), "bmsched.db")

	// First start, empty database: the cold start.
	d := startFarmDaemon(b, bin, f.root, dbFile, 0)
	t.add(scale, "cold start, empty database, to a full list", ms(d.coldStart), "", "", "< 1 s at 1,000")
	live := 0
	if largest {
		live = *farmLive
		fillLeases(b, d, f, live)
	}
	benchRows(b, t, d, f, scale, fmt.Sprintf("warm 0, %d live", live))
	benchOperator(b, t, d, f, scale)
	d.stop(b)

	if *farmWarm > 0 {
		d = startFarmDaemon(b, bin, f.root, dbFile, *farmWarm)
		benchRows(b, t, d, f, scale, fmt.Sprintf("warm %d, %d live", *farmWarm, live))
		d.stop(b)
	}
	if largest && *farmMany > live {
		d = startFarmDaemon(b, bin, f.root, dbFile, 0)
		fillLeases(b, d, f, *farmMany-live)
		med := medianOf(20, func() time.Duration { return d.timeCLI(b, "--json", "leases") })
		t.add(scale, fmt.Sprintf("leases --json, %d leases", *farmMany), ms(med), "", "", "< 100 ms")
		t.add(scale, fmt.Sprintf("daemon peak RSS, %d leases", *farmMany), fmt.Sprintf("%d MB", d.peakRSS(b)>>20), "", "", "< 100 MB")
		d.stop(b)
	}
}

// benchRows are the cycle rows, measured with the daemon as it is.
func benchRows(b *testing.B, t *farmTable, d *farmDaemon, f *farm, scale, how string) {
	bm, bp := interleave(*farmCycles, func(i int) time.Duration { return d.cycle(b, f.hot(i)) }, func(i int) time.Duration { return f.btrfsCycle(b, f.hot(i)) })
	t.add(scale, "acquire+release, serial ("+how+")", ms(bm), ms(bp), ratio(bm, bp), "≤ 1.0")
	rm, rp := interleave(*farmCycles, func(i int) time.Duration { return d.runTrue(b, f.hot(i)) }, func(i int) time.Duration { return f.btrfsCycle(b, f.hot(i)) })
	t.add(scale, "run -- true, serial ("+how+")", ms(rm), ms(rp), ratio(rm, rp), "≤ 0.8")
	pm, pp := parallelCycles(b, 16, *farmCycles*2, d, f)
	t.add(scale, "acquire+release, 16 workers, per cycle ("+how+")", ms(pm), ms(pp), ratio(pm, pp), "≤ 1.0")
	sm, sp := sustained(b, 16, *farmSustain, d, f)
	t.add(scale, fmt.Sprintf("sustained cycles/s, 16 workers, %s each (%s)", *farmSustain, how),
		fmt.Sprintf("%.0f/s", sm), fmt.Sprintf("%.0f/s", sp), fmt.Sprintf("%.2f", sp/sm), "")
}

// benchOperator are the rows of what operators do: list, leases, the link
// switch, delete.
func benchOperator(b *testing.B, t *farmTable, d *farmDaemon, f *farm, scale string) {
	lm := medianOf(20, func() time.Duration { return d.timeCLI(b, "--json", "list") })
	t.add(scale, "list --json", ms(lm), "", "", "< 100 ms")
	le := medianOf(20, func() time.Duration { return d.timeCLI(b, "--json", "leases") })
	t.add(scale, "leases --json, leases above", ms(le), "", "", "")
	idle := linkSwitches(b, d, f, 20, false)
	t.add(scale, "mv -T → new current in show, idle, p50 (p90)", pcts(idle), "", "", "< 50 ms")
	busy := linkSwitches(b, d, f, 20, true)
	t.add(scale, "mv -T → new current in show, 16 workers' churn, p50 (p90)", pcts(busy), "", "", "< 100 ms")
	dm, dp := deletes(b, d, f)
	t.add(scale, "delete: last release → done (btrfs: delete the same subvolumes)", ms(dm), ms(dp), ratio(dm, dp), "< 2.0")
}
