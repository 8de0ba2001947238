package btrfs

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// pathError wraps err in the *PathError every driver method returns.
//
// An *fs.PathError for the same path is unwrapped so the path is not said
// twice; one for another path (a file deep inside a tree being copied) is
// kept because it says where things went wrong. A *PathError is passed on
// untouched: it comes from a nested operation on another path (a nested
// subvolume's deletion) and already says what and where.
func pathError(op, path string, err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *PathError:
		return e
	case *fs.PathError:
		if e.Path == path {
			err = e.Err
		}
	}
	return &PathError{Op: op, Path: path, Err: err}
}

// kernelError reduces an error from github.com/containerd/btrfs, which
// wraps the errno in prose that repeats the path, to the errno itself.
// ENOTTY is what any btrfs ioctl gets on another filesystem; it is said
// plainly because "inappropriate ioctl for device" helps nobody.
func kernelError(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err
	}
	if errno == syscall.ENOTTY {
		return fmt.Errorf("not on a btrfs filesystem: %w", errno)
	}
	return errno
}
