package lease

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/proc"
)

// errOwnerGone marks the errors of watchOwner that prove the owner has
// exited (or its pid now names another process); any other error proves
// nothing, and a lease must not end on it.
var errOwnerGone = errors.New("owner gone")

// ownerWatch follows the process that owns a lease through a pidfd: the
// kernel makes it readable when the process exits, and Go's poller parks
// the waiting goroutine without a thread or a polling loop.
type ownerWatch struct {
	pid   int
	start uint64 // start time, clock ticks since boot
	f     *os.File
}

// watchOwner opens a pidfd on pid. When start is not zero the process must
// have started then: a pid reused by another process is not the owner.
func watchOwner(pid int, start uint64) (*ownerWatch, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("not a process id")
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("no process %d: %w", pid, errOwnerGone)
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))
	got, err := startTime(pid)
	// Only if the process is still alive after reading /proc did the pid
	// name it, and not a successor, when we read.
	if exited(fd) {
		f.Close()
		return nil, fmt.Errorf("process %d exited: %w", pid, errOwnerGone)
	}
	if err != nil {
		// Alive, but unreadable (/proc mounted with hidepid, say): that
		// says nothing about the owner being gone.
		f.Close()
		return nil, fmt.Errorf("read start time of process %d: %w", pid, err)
	}
	if start != 0 && got != start {
		f.Close()
		return nil, fmt.Errorf("process %d is not the owner (pid reused: started at tick %d, owner at %d): %w", pid, got, start, errOwnerGone)
	}
	return &ownerWatch{pid: pid, start: got, f: f}, nil
}

// wait blocks until the process exits (true) or the watch is closed (false).
func (w *ownerWatch) wait() bool {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return false
	}
	err = rc.Read(func(fd uintptr) bool { return exited(int(fd)) })
	return err == nil
}

func (w *ownerWatch) close() { w.f.Close() }

func exited(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0 && pfd[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0
}

// startTime is the process's start time in clock ticks since boot.
func startTime(pid int) (uint64, error) { return proc.StartTime(pid) }

// watch ends the lease when its owner w exits, unless by then the lease
// is held (the build ended and someone wants its snapshot kept) or gone.
func (s *Scheduler) watch(e *entry, w *ownerWatch) {
	// No new watcher once Stop has begun waiting for them.
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		w.close()
		return
	default:
	}
	s.done.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.done.Done()
		if !w.wait() {
			return
		}
		l, ok, err := s.db.Lease(e.id)
		if err != nil {
			s.log.Error("end lease of exited owner", "lease", e.id, "err", err)
			return
		}
		if !ok || (l.State != db.LeaseActive && l.State != db.LeaseReleasing) {
			return
		}
		if _, err := s.endLease(l, endEvent(l, "lease", "lease-owner-exited", fmt.Sprintf("owner process %d exited", w.pid))); err != nil {
			s.log.Error("end lease of exited owner", "lease", e.id, "err", err)
		}
	}()
}
