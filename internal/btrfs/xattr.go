package btrfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The extended attributes with which the plain driver marks and describes
// the directories it treats as subvolumes. They live in the user namespace
// so that a non-root bmsched can keep them too.
const (
	xattrUUID     = "user.bmsched.uuid"     // identity; its presence is the mark
	xattrParent   = "user.bmsched.parent"   // the UUID snapshotted from
	xattrReadonly = "user.bmsched.readonly" // "1" when read-only
)

// getxattr returns the value of attribute name of path, not following a
// final symlink. A missing attribute is ENODATA.
func getxattr(path, name string) (string, error) {
	buf := make([]byte, 64) // bmsched's values are at most 36 bytes
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			// Someone else's longer value: ask its size and try again.
			size, err := unix.Lgetxattr(path, name, nil)
			if err != nil {
				return "", err
			}
			buf = make([]byte, size)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}

// setxattr sets attribute name of path to value.
func setxattr(path, name, value string) error {
	return xattrError(unix.Lsetxattr(path, name, []byte(value), 0))
}

// removexattr removes attribute name of path; a missing one is no error.
func removexattr(path, name string) error {
	err := unix.Lremovexattr(path, name)
	if errors.Is(err, unix.ENODATA) {
		return nil
	}
	return xattrError(err)
}

// xattrError explains EOPNOTSUPP, which otherwise reads as if bmsched had
// asked for something odd rather than the filesystem lacking user xattrs.
func xattrError(err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("filesystem does not support user extended attributes: %w", err)
	}
	return err
}
