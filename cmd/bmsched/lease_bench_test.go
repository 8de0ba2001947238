package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

// BenchmarkLease measures the acquire+release cycle as a build worker does
// it, by exec of the built bmsched binary against a daemon (also the built
// binary) on a loop-mounted btrfs, serially and with 16 workers at once,
// next to the same work done with `btrfs subvolume snapshot` and `btrfs
// subvolume delete` on the same volume in the same run; then prints the
// four side by side.
//
//	go test -run '^$' -bench Lease -benchtime 200x ./cmd/bmsched/
func BenchmarkLease(b *testing.B) {
	if _, err := exec.LookPath("btrfs"); err != nil {
		b.Skip("btrfs-progs not installed")
	}
	mnt := loopbtrfstest.TB(b)
	bin := buildBmsched(b)
	drv := btrfs.NewBtrfs()

	// Four machines with an image of a few hundred files each.
	root := filepath.Join(mnt, "machines")
	vol := filepath.Join(root, "default")
	names := []string{"b0", "b1", "b2", "b3"}
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
	cliDir := filepath.Join(mnt, "cli") // the btrfs CLI's snapshots, outside the daemon's root
	must(b, os.Mkdir(cliDir, 0o755))

	sock := filepath.Join(publicDir(b), "s")
	serve := exec.Command(bin, "serve", "--machines", root, "--db", filepath.Join(b.TempDir(), "db"), "--socket", sock, "--log-level", "warn")
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
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("daemon did not start: %v\n%s", err, serveLog.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %v: %v\n%s", name, args, err, out)
		}
		return nil
	}
	var seq atomic.Int64
	cycles := map[string]func(i int) error{
		"bmsched": func(i int) error {
			out, err := exec.Command(bin, "--socket", sock, "--json", "acquire", names[i%len(names)], "gcc").Output()
			if err != nil {
				return fmt.Errorf("acquire: %v", err)
			}
			var l api.Lease
			if err := json.Unmarshal(out, &l); err != nil {
				return err
			}
			return run(bin, "--socket", sock, "release", strconv.FormatUint(l.ID, 10))
		},
		"btrfs": func(i int) error {
			dst := filepath.Join(cliDir, fmt.Sprintf("snap-%d", seq.Add(1)))
			if err := run("btrfs", "-q", "subvolume", "snapshot", images[names[i%len(names)]], dst); err != nil {
				return err
			}
			return run("btrfs", "-q", "subvolume", "delete", dst)
		},
	}

	type result struct{ nsPerOp float64 }
	results := map[string]result{}
	var order []string
	for _, tool := range []string{"bmsched", "btrfs"} {
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
				results[name] = result{ns}
			})
		}
	}
	// Nothing may be left: every lease released, every snapshot gone.
	var ls api.Leases
	out, err := exec.Command(bin, "--socket", sock, "--json", "leases").Output()
	must(b, err)
	must(b, json.Unmarshal(out, &ls))
	if len(ls.Leases) != 0 {
		b.Errorf("%d leases left after the benchmark", len(ls.Leases))
	}
	if len(results) != len(order) {
		return // some sub-benchmark was filtered out or failed
	}
	w := os.Stdout
	fmt.Fprintf(w, "\nacquire+release cycle on a loop-mounted btrfs, %d CPUs:\n", runtime.NumCPU())
	fmt.Fprintf(w, "%-26s %10s %10s\n", "", "cycles/s", "ms/cycle")
	for _, name := range order {
		r := results[name]
		fmt.Fprintf(w, "%-26s %10.1f %10.2f\n", name, 1e9/r.nsPerOp, r.nsPerOp/1e6)
	}
	for _, k := range []string{"workers=1", "workers=16"} {
		fmt.Fprintf(w, "bmsched/btrfs time ratio, %s: %.2f\n", k, results["bmsched-cli/"+k].nsPerOp/results["btrfs-cli/"+k].nsPerOp)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// buildBmsched builds the bmsched command into a directory every user
// may read.
func buildBmsched(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(publicDir(tb), "bmsched")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
