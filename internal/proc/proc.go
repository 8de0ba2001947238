// Package proc tells whether a process that bmsched was told about still
// runs, by pid and start time, so that a reused pid is never taken for
// the process it once named, and waits for one to exit without polling.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// StartTime reads field 22 of /proc/PID/stat, the start time in clock
// ticks since boot. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func StartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return strconv.ParseUint(string(fields[19]), 10, 64)
}

// Alive reports whether process pid runs and, when start is not zero,
// started then. A process that exists but cannot be inspected counts as
// alive: nothing is undone on a guess.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if start == 0 {
		return true
	}
	got, err := StartTime(pid)
	if err != nil {
		// Gone since the kill, or /proc hidden: only the former is proof.
		return !errors.Is(err, os.ErrNotExist)
	}
	// A zombie is gone for our purposes, but keeps its start time: the
	// kill above succeeds on it. Its state field says so.
	return got == start && !zombie(pid)
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	f := bytes.Fields(b[i+1:])
	return len(f) > 0 && (string(f[0]) == "Z" || string(f[0]) == "X")
}

// Watch is an open watch on a process: the kernel makes its pidfd
// readable when the process exits.
type Watch struct {
	f    *os.File
	once sync.Once
	done chan struct{}
}

// Open watches process pid, which must have started at start (unless
// zero). It fails with an error for which Gone is true when the process
// is not (or no longer) that one.
func Open(pid int, start uint64) (*Watch, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("no process %d: %w", pid, ErrGone)
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	w := &Watch{f: os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid)), done: make(chan struct{})}
	// Checked after the pidfd is open, so that the pid cannot have been
	// reused between the check and the watch.
	if !Alive(pid, start) {
		w.f.Close()
		return nil, fmt.Errorf("process %d exited: %w", pid, ErrGone)
	}
	return w, nil
}

// ErrGone marks errors that prove a process is gone.
var ErrGone = errors.New("process gone")

// Exited returns a channel closed when the process exits; it stays open
// if the watch is closed first.
func (w *Watch) Exited() <-chan struct{} {
	w.once.Do(func() {
		go func() {
			rc, err := w.f.SyscallConn()
			if err != nil {
				return
			}
			if rc.Read(func(fd uintptr) bool { return readable(int(fd)) }) == nil {
				close(w.done)
			}
		}()
	})
	return w.done
}

// Close ends the watch.
func (w *Watch) Close() { w.f.Close() }

func readable(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0 && pfd[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0
}

// WaitGone waits up to timeout for process pid (started at start) to be
// gone, and reports whether it is.
func WaitGone(pid int, start uint64, timeout time.Duration) bool {
	w, err := Open(pid, start)
	if err != nil {
		return errors.Is(err, ErrGone)
	}
	defer w.Close()
	select {
	case <-w.Exited():
		return true
	case <-time.After(timeout):
		return false
	}
}
