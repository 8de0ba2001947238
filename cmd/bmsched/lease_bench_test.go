package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

// BenchmarkLease measures the acquire+release cycle as a build worker does
// it, by exec of the built bmsched binary against a daemon (also the built
// binary) on a loop-mounted btrfs, serially and with 16 workers at once,
// next to the same work done with `btrfs subvolume snapshot` and `btrfs
// subvolume delete` on the same volume in the same run, and against a
// second daemon that keeps a warm pool of 4 snapshots an image (serve
// --warm 4, on a machines root of its own on the same volume); then
// prints the six side by side.
//
//	go test -run '^$' -bench Lease -benchtime 200x ./cmd/bmsched/
func BenchmarkLease(b *testing.B) {
	if _, err := exec.LookPath("btrfs"); err != nil {
		b.Skip("btrfs-progs not installed")
	}
	mnt := loopbtrfs.TB(b)
	bin := buildBmsched(b)
	names := []string{"b0", "b1", "b2", "b3"}
	images := benchMachines(b, filepath.Join(mnt, "machines"), names)
	benchMachines(b, filepath.Join(mnt, "machines-warm"), names)
	cliDir := filepath.Join(mnt, "cli") // the btrfs CLI's snapshots, outside the daemons' roots
	must(b, os.Mkdir(cliDir, 0o755))
	socks := map[string]string{
		"bmsched":       benchDaemon(b, bin, filepath.Join(mnt, "machines")),
		"bmsched-warm4": benchDaemon(b, bin, filepath.Join(mnt, "machines-warm"), "--warm", "4"),
	}

	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		return nil
	}
	var seq atomic.Int64
	bmsched := func(sock string) func(i int) error {
		return func(i int) error {
			out, err := exec.Command(bin, "--socket", sock, "--json", "acquire", names[i%len(names)], "gcc").Output()
			if err != nil {
				return fmt.Errorf("acquire: %v", err)
			}
			var l api.Lease
			if err := json.Unmarshal(out, &l); err != nil {
				return err
			}
			return run(bin, "--socket", sock, "release", strconv.FormatUint(l.ID, 10))
		}
	}
	cycles := map[string]func(i int) error{
		"bmsched":       bmsched(socks["bmsched"]),
		"bmsched-warm4": bmsched(socks["bmsched-warm4"]),
		"btrfs": func(i int) error {
			dst := filepath.Join(cliDir, fmt.Sprintf("snap-%d", seq.Add(1)))
			if err := run("btrfs", "-q", "subvolume", "snapshot", images[names[i%len(names)]], dst); err != nil {
				return err
			}
			return run("btrfs", "-q", "subvolume", "delete", dst)
		},
	}
	order, results := runLeaseCycles(b, cycles, []string{"bmsched", "bmsched-warm4", "btrfs"})
	// Nothing may be left: every lease released, every snapshot gone.
	for _, sock := range socks {
		var ls api.Leases
		out, err := exec.Command(bin, "--socket", sock, "--json", "leases").Output()
		must(b, err)
		must(b, json.Unmarshal(out, &ls))
		if len(ls.Leases) != 0 {
			b.Errorf("%d leases left after the benchmark", len(ls.Leases))
		}
	}
	if len(results) != len(order) {
		return // some sub-benchmark was filtered out or failed
	}
	w := os.Stdout
	fmt.Fprintf(w, "\nacquire+release cycle on a loop-mounted btrfs, %d CPUs:\n", runtime.NumCPU())
	fmt.Fprintf(w, "%-30s %10s %10s\n", "", "cycles/s", "ms/cycle")
	for _, name := range order {
		ns := results[name]
		fmt.Fprintf(w, "%-30s %10.1f %10.2f\n", name, 1e9/ns, ns/1e6)
	}
	printInterleaved(b, w, cycles, []string{"bmsched", "bmsched-warm4", "btrfs"})
	var st api.Status
	out, err := exec.Command(bin, "--socket", socks["bmsched-warm4"], "--json", "status").Output()
	must(b, err)
	must(b, json.Unmarshal(out, &st))
	if st.Warm != nil {
		fmt.Fprintf(w, "bmsched-warm4: %d hits, %d misses, %d snapshots made by refills\n", st.Warm.Hits, st.Warm.Misses, st.Warm.Refills)
	}
	for _, k := range []string{"workers=1", "workers=16"} {
		for _, tool := range []string{"bmsched", "bmsched-warm4"} {
			fmt.Fprintf(w, "%s/btrfs time ratio, %s: %.2f\n", tool, k, results[tool+"-cli/"+k]/results["btrfs-cli/"+k])
		}
	}
}

// printInterleaved times 200 serial cycles of each tool, the tools taking
// turns, and prints the median of each: on a shared machine whose load
// drifts, the sub-benchmarks above, one after the other, see different
// loads; taking turns, the tools see the same.
func printInterleaved(b *testing.B, w io.Writer, cycles map[string]func(i int) error, tools []string) {
	took := map[string][]time.Duration{}
	for i := range 200 {
		for _, tool := range tools {
			start := time.Now()
			must(b, cycles[tool](i))
			took[tool] = append(took[tool], time.Since(start))
		}
	}
	fmt.Fprintf(w, "interleaved, 1 worker, median of 200:\n")
	for _, tool := range tools {
		d := took[tool]
		slices.Sort(d)
		fmt.Fprintf(w, "%-30s %10.2f ms/cycle (p90 %.2f)\n", tool, float64(d[len(d)/2].Microseconds())/1e3, float64(d[len(d)*9/10].Microseconds())/1e3)
	}
}

// benchMachines lays out four machines under root's volume "default",
// each with an image of a few hundred files; it returns the images' paths
// by machine.
func benchMachines(b *testing.B, root string, names []string) map[string]string {
	drv := btrfs.NewBtrfs()
	vol := filepath.Join(root, "default")
	images := map[string]string{}
	for _, n := range names {
		dir := filepath.Join(vol, n)
		rev := filepath.Join(dir, n+"-1")
		must(b, os.MkdirAll(dir, 0o755))
		must(b, drv.Create(rev))
		for i := range 16 {
			sub := filepath.Join(rev, fmt.Sprintf("d%02d", i))
			must(b, os.Mkdir(sub, 0o755))
			for j := range 16 {
				must(b, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d", j)), bytes.Repeat([]byte{'x'}, 4096), 0o644))
			}
		}
		must(b, drv.SetReadOnly(rev, true))
		must(b, os.Symlink(n+"-1", filepath.Join(dir, n)))
		images[n] = filepath.Join(dir, n+"-gcc")
		must(b, drv.Snapshot(rev, images[n], true))
	}
	return images
}

// benchDaemon serves root with the built binary until the benchmark ends,
// and returns its socket.
func benchDaemon(b *testing.B, bin, root string, args ...string) string {
	sock := filepath.Join(publicDir(b), "s")
	args = append([]string{"serve", "--machines", root, "--db", filepath.Join(b.TempDir(), "db"), "--socket", sock, "--log-level", "warn"}, args...)
	serve := exec.Command(bin, args...)
	var serveLog bytes.Buffer
	serve.Stderr = &serveLog
	must(b, serve.Start())
	b.Cleanup(func() {
		serve.Process.Signal(syscall.SIGINT)
		if err := serve.Wait(); err != nil {
			b.Errorf("daemon: %v\n%s", err, serveLog.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(deadline) {
			b.Fatalf("daemon did not start: %v\n%s", err, serveLog.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runLeaseCycles runs each tool's cycle with 1 and 16 workers, and
// returns the sub-benchmarks' names in order and their ns per cycle.
func runLeaseCycles(b *testing.B, cycles map[string]func(i int) error, tools []string) ([]string, map[string]float64) {
	results := map[string]float64{}
	var order []string
	for _, tool := range tools {
		for _, workers := range []int{1, 16} {
			name := fmt.Sprintf("%s-cli/workers=%d", tool, workers)
			order = append(order, name)
			b.Run(name, func(b *testing.B) {
				cycle := cycles[tool]
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, workers)
				b.ResetTimer()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							if err := cycle(i); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(1e9/ns, "cycles/s")
				b.ReportMetric(ns/1e6, "ms/cycle")
				results[name] = ns
			})
		}
	}
	return order, results
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// buildBmsched builds the bmsched command, and the daemon bmschedd
// beside it, into a directory every user may read.
func buildBmsched(tb testing.TB) string {
	tb.Helper()
	dir := publicDir(tb)
	// bmsched runs bmschedd, found beside it, for serve.
	for _, pkg := range []string{".", "../bmschedd"} {
		cmd := exec.Command("go", "build", "-o", dir, pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return filepath.Join(dir, "bmsched")
}
