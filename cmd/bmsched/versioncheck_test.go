package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
)

// TestVersionMismatchWarning: an interactive command whose stderr is a
// terminal warns when the daemon is another build; acquire never asks,
// and a command whose stderr is not a terminal neither asks nor warns.
func TestVersionMismatchWarning(t *testing.T) {
	sock, healthCalls := fakeDaemon(t, api.Health{OK: true, Version: "9.9.9", Commit: "feedface"})
	master, tty := openPty(t)
	pty := newPtyReader(master)

	if code := run([]string{"bmsched", "--socket", sock, "list"}, &bytes.Buffer{}, tty); code != 0 {
		t.Fatalf("list exited %d", code)
	}
	out := pty.take()
	if !strings.Contains(out, "warning: this client is") || !strings.Contains(out, "is 9.9.9 (commit feedface)") {
		t.Errorf("list at a terminal against another daemon build: stderr %q, want a version warning", out)
	}

	before := healthCalls.Load()
	if code := run([]string{"bmsched", "--socket", sock, "acquire", "lin", "gcc"}, &bytes.Buffer{}, tty); code != 0 {
		t.Fatalf("acquire exited %d", code)
	}
	if out := pty.take(); strings.Contains(out, "warning") {
		t.Errorf("acquire warned: %q", out)
	}
	if n := healthCalls.Load() - before; n != 0 {
		t.Errorf("acquire asked the daemon for its version %d times; want none", n)
	}

	var stderr bytes.Buffer
	if code := run([]string{"bmsched", "--socket", sock, "list"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("list exited %d", code)
	}
	if stderr.Len() != 0 || healthCalls.Load() != before {
		t.Errorf("list in a script: stderr %q, version asked %d times; want neither", stderr.String(), healthCalls.Load()-before)
	}
}

// fakeDaemon answers health, list and acquire on a Unix socket as a
// daemon of the given build would, and counts the health requests.
func fakeDaemon(t *testing.T, h api.Health) (string, *atomic.Int64) {
	dir, err := os.MkdirTemp("", "bms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	mux := http.NewServeMux()
	answer := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(v) }
	}
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		answer(h)(w, r)
	})
	mux.HandleFunc("GET /v1/machines", answer(api.List{}))
	mux.HandleFunc("POST /v1/acquire", answer(api.Lease{ID: 1, Path: "/build/machines/default/lin/lin-gcc-001", State: "active"}))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock, &calls
}

// openPty returns a pseudo-terminal's master and its terminal.
func openPty(t *testing.T) (*os.File, *os.File) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// ptyReader collects what the terminal is sent, read by a goroutine: a
// terminal's master is not pollable here, so a read cannot time out.
type ptyReader struct {
	mu  sync.Mutex
	buf []byte
}

func newPtyReader(master *os.File) *ptyReader {
	r := &ptyReader{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			r.mu.Lock()
			r.buf = append(r.buf, b[:n]...)
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

// take returns what arrived since the last take, once it has settled.
func (r *ptyReader) take() string {
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := string(r.buf)
	r.buf = nil
	return s
}
