package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// farmDaemon is a daemon the farm benchmark started, by `bmsched serve`
// as an operator would.
type farmDaemon struct {
	bin, sock string
	cmd       *exec.Cmd
	log       bytes.Buffer
	http      *http.Client // straight to the socket, for what a CLI process is too coarse to time
	coldStart time.Duration
}

func startFarmDaemon(b *testing.B, bin, root, dbFile string, warm int) *farmDaemon {
	d := &farmDaemon{bin: bin, sock: filepath.Join(publicDir(b), "s")}
	args := []string{"serve", "--machines", root, "--db", dbFile, "--socket", d.sock, "--log-level", "warn"}
	if warm > 0 {
		args = append(args, "--warm", strconv.Itoa(warm))
	}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stderr = &d.log
	d.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.sock)
		},
		MaxIdleConnsPerHost: 64,
	}}
	want := countMachines(b, root)
	start := time.Now()
	must(b, d.cmd.Start())
	for deadline := start.Add(2 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
		var l struct{ Machines []json.RawMessage }
		if d.get("/v1/machines", &l) == nil && len(l.Machines) >= want {
			break
		}
		if time.Now().After(deadline) {
			d.stop(b)
			b.Fatalf("daemon did not list %d machines within 2 minutes\n%s", want, d.log.String())
		}
	}
	d.coldStart = time.Since(start)
	return d
}

func countMachines(b *testing.B, root string) int {
	n := 0
	vols, err := os.ReadDir(root)
	must(b, err)
	for _, v := range vols {
		if !v.IsDir() || strings.HasPrefix(v.Name(), ".") {
			continue // the root's lock and id mark
		}
		ms, err := os.ReadDir(filepath.Join(root, v.Name()))
		must(b, err)
		n += len(ms)
	}
	return n
}

func (d *farmDaemon) stop(b *testing.B) {
	d.cmd.Process.Signal(syscall.SIGINT)
	if err := d.cmd.Wait(); err != nil {
		b.Errorf("daemon: %v\n%s", err, d.log.String())
	}
	d.http.CloseIdleConnections()
}

// get decodes the answer to GET path into v.
func (d *farmDaemon) get(path string, v any) error {
	resp, err := d.http.Get("http://bmsched" + path)
	return decodeAnswer("GET "+path, resp, err, v)
}

// post sends v as JSON to path and decodes the answer into out.
func (d *farmDaemon) post(path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	resp, err := d.http.Post("http://bmsched"+path, "application/json", bytes.NewReader(body))
	return decodeAnswer("POST "+path, resp, err, out)
}

// decodeAnswer decodes a successful answer into v (unless nil), and
// turns any other into an error naming the request.
func decodeAnswer(req string, resp *http.Response, err error, v any) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", req, resp.Status, msg)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// cli runs the bmsched client against the daemon and returns its output.
func (d *farmDaemon) cli(b *testing.B, args ...string) []byte {
	return runOrFatal(b, d.bin, append([]string{"--socket", d.sock}, args...)...)
}

func (d *farmDaemon) timeCLI(b *testing.B, args ...string) time.Duration {
	start := time.Now()
	d.cli(b, args...)
	return time.Since(start)
}

// cycle is a build worker's acquire and release, two client processes.
func (d *farmDaemon) cycle(b *testing.B, name string) time.Duration {
	start := time.Now()
	out := d.cli(b, "--json", "acquire", name, "gcc")
	var l struct{ ID uint64 }
	if err := json.Unmarshal(out, &l); err != nil || l.ID == 0 {
		b.Fatalf("acquire %s: %q: %v", name, out, err)
	}
	d.cli(b, "release", strconv.FormatUint(l.ID, 10))
	return time.Since(start)
}

// runTrue is the same cycle in one process: bmsched run.
func (d *farmDaemon) runTrue(b *testing.B, name string) time.Duration {
	start := time.Now()
	d.cli(b, "run", name, "gcc", "--", "true")
	return time.Since(start)
}

// fillLeases acquires n leases spread over every machine, straight over
// the socket (the rows measure with them live, not their making).
func fillLeases(b *testing.B, d *farmDaemon, f *farm, n int) {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				req := map[string]string{"machine": f.names[i%(len(f.names)-1)], "toolchain": farmToolchains[i%len(farmToolchains)]}
				if err := d.post("/v1/acquire", req, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("acquired %d leases in %v", n, time.Since(start).Round(time.Millisecond))
}

// peakRSS is the daemon's peak resident set (VmHWM), in bytes.
func (d *farmDaemon) peakRSS(b *testing.B) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	must(b, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			must(b, err)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in the daemon's /proc status")
	return 0
}
