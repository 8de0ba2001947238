package volume

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// WatchMounts calls changed each time this process's mount table
// changes, until ctx is done: the kernel marks /proc/self/mountinfo with
// POLLPRI on every mount and unmount, so nothing is polled on a timer.
// changed runs on WatchMounts's goroutine; a slow one coalesces changes.
func WatchMounts(ctx context.Context, changed func()) error {
	// A raw descriptor, not an *os.File: Go's runtime poller would
	// register the file with its epoll, whose polls clear the mark
	// before this poll sees it.
	fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("watch mounts: open /proc/self/mountinfo: %w", err)
	}
	// A pipe wakes the poll when ctx is done.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		unix.Close(fd)
		return fmt.Errorf("watch mounts: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { unix.Write(p[1], []byte{0}) })
	go func() {
		defer unix.Close(fd)
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		defer stop()
		for {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}, {Fd: int32(p[0]), Events: unix.POLLIN}}
			_, err := unix.Poll(fds, -1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || ctx.Err() != nil || fds[1].Revents != 0 {
				return
			}
			// The poll that reported the change has cleared its mark: a
			// change made while changed runs marks the file again.
			if fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0 {
				changed()
			}
		}
	}()
	return nil
}
