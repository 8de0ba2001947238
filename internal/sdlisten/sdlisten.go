// Package sdlisten takes the listening sockets that a service manager
// passes to the daemon (socket activation, sd_listen_fds(3)): descriptors
// from 3 on, counted by LISTEN_FDS and named by LISTEN_FDNAMES, meant for
// the process LISTEN_PID.
package sdlisten

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// firstFD is SD_LISTEN_FDS_START.
const firstFD = 3

// Listener returns the Unix stream listener that the service manager
// passed, or nil when none was passed to this process. With several, the
// one named name (FileDescriptorName=) is taken. The variables are
// unset, so that children do not take the descriptors for theirs.
func Listener(name string) (net.Listener, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	if fds == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("socket activation: LISTEN_FDS=%q is not a count of descriptors; check the .socket unit", fds)
	}
	pick, err := choose(n, strings.Split(names, ":"), name)
	if err != nil {
		return nil, err
	}
	for i := range n {
		fd := firstFD + i
		if i != pick {
			// Not ours to serve: do not keep it open in the daemon.
			syscall.Close(fd)
			continue
		}
		syscall.CloseOnExec(fd)
	}
	return fileListener(firstFD + pick)
}

// choose picks the descriptor named name, or the only one.
func choose(n int, names []string, name string) (int, error) {
	for i, got := range names {
		if got == name && i < n {
			return i, nil
		}
	}
	if n == 1 {
		return 0, nil
	}
	return 0, fmt.Errorf("socket activation: %d sockets were passed (LISTEN_FDNAMES=%s) and none is named %q; set FileDescriptorName=%s in the .socket unit", n, strings.Join(names, ":"), name, name)
}

// fileListener wraps descriptor fd, which must be a listening Unix
// stream socket.
func fileListener(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "LISTEN_FDS:"+strconv.Itoa(fd))
	defer f.Close() // net.FileListener keeps a duplicate
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("socket activation: descriptor %d: %w; the .socket unit must have ListenStream= a Unix socket path", fd, err)
	}
	if _, ok := ln.(*net.UnixListener); !ok {
		ln.Close()
		return nil, fmt.Errorf("socket activation: descriptor %d listens on %s, not on a Unix socket; the .socket unit must have ListenStream= a socket path", fd, ln.Addr())
	}
	return ln, nil
}
