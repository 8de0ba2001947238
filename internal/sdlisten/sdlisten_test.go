package sdlisten

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func TestChoose(t *testing.T) {
	if i, err := choose(2, []string{"metrics", "bmsched"}, "bmsched"); err != nil || i != 1 {
		t.Errorf("named second: %d, %v", i, err)
	}
	if i, err := choose(1, []string{"unknown"}, "bmsched"); err != nil || i != 0 {
		t.Errorf("the only one: %d, %v", i, err)
	}
	if _, err := choose(2, []string{"a", "b"}, "bmsched"); err == nil {
		t.Error("two unnamed sockets: no error")
	}
}

// TestNotOurs: descriptors meant for another process (LISTEN_PID) are
// not taken, and with no LISTEN_FDS there is nothing to take.
func TestNotOurs(t *testing.T) {
	t.Setenv("LISTEN_FDS", "1")
	t.Setenv("LISTEN_PID", "1")
	if ln, err := Listener("bmsched"); ln != nil || err != nil {
		t.Fatalf("took another process's descriptors: %v %v", ln, err)
	}
	t.Setenv("LISTEN_FDS", "")
	t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	if ln, err := Listener("bmsched"); ln != nil || err != nil {
		t.Fatalf("a listener without LISTEN_FDS: %v %v", ln, err)
	}
}

func TestFileListenerUnix(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	got, err := fileListener(dup(t, f))
	if err != nil {
		t.Fatal(err)
	}
	got.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	f, err = tcp.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fileListener(dup(t, f)); err == nil {
		t.Error("a TCP socket was taken for the Unix socket")
	}
}

// dup gives fileListener a descriptor of its own to close.
func dup(t *testing.T, f *os.File) int {
	defer f.Close()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return fd
}
