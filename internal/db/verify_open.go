package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// verifyForOpen runs Verify under a shared lock of the file, so that it
// never reads a commit half written by a daemon. A read-only open keeps
// that lock until bbolt holds its own (release); a writer must release
// it first, as bbolt's exclusive lock would wait on it. A missing or
// empty file is left to bbolt, which makes a new database in it, unless
// the open is read-only.
func verifyForOpen(path string, opt Options) (r FileReport, release func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !opt.ReadOnly {
		return r, func() {}, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return r, nil, fmt.Errorf("read database %s: %w (run as the daemon's user, or as root)", path, err)
	}
	if err != nil {
		return r, nil, fmt.Errorf("read database %s: %w", path, err)
	}
	if err := lockShared(f, opt.LockTimeout); err != nil {
		f.Close()
		return r, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	release = func() { f.Close() }
	if st, err := f.Stat(); err == nil && st.Size() == 0 && !opt.ReadOnly {
		return r, release, nil
	}
	r, err = verifyFile(f, path)
	if err != nil {
		release()
		return r, nil, err
	}
	return r, release, nil
}

// lockShared takes a shared flock on f, waiting up to timeout for a
// daemon's exclusive one to go.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("lock: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (stop that daemon, or talk to it through its socket)", ErrHeld)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
