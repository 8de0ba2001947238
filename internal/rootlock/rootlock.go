// Package rootlock makes one bmsched at a time the owner of a machines
// root. A daemon (or an offline rebuild) scans, recovers and deletes
// under the root, so two of them on one root, each with its own database,
// would each take the other's snapshots for leftovers. The lock is an
// flock on <root>/.bmsched-root.lock, one of bmsched's own names: the
// kernel drops it when its holder exits, however it exits, so a crash
// never leaves the root locked.
package rootlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Name is the lock file's name in the machines root.
const Name = ".bmsched-root.lock"

// HeldError is returned by Take when another process holds the root.
type HeldError struct {
	Root string
	PID  int // 0 when the holder did not say
}

func (e *HeldError) Error() string {
	who := "another bmsched"
	if e.PID > 0 {
		who = fmt.Sprintf("another bmsched (pid %d)", e.PID)
	}
	return fmt.Sprintf("machines root %s is held by %s: one daemon serves a root; stop it, or talk to it through its socket", e.Root, who)
}

// Lock is a held machines root.
type Lock struct {
	f *os.File
}

// Take locks root for this process without waiting, and writes this
// process's pid into the lock file so that the next taker can name it.
func Take(root string) (*Lock, error) {
	path := filepath.Join(root, Name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock machines root: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid := holder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{Root: root, PID: pid}
		}
		return nil, &os.PathError{Op: "lock machines root (flock)", Path: path, Err: err}
	}
	// The pid only names the holder in the next taker's message: not
	// worth failing for.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// holder reads the pid the holder wrote, 0 if none.
func holder(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		return 0
	}
	return pid
}

// Release gives the root back. The file stays: removing it would let a
// third process lock a new file while a second still waits on the old.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
