package lease

import (
	"errors"

	"golang.org/x/sys/unix"
)

// deleteHint says what to do about a snapshot that could not be deleted,
// by the cause: a read-only filesystem is not fixed by looking for mounts
// inside the snapshot.
func deleteHint(err error) string {
	switch {
	case errors.Is(err, unix.EROFS):
		return "its filesystem is read-only (mounted so, or remounted after an error: see dmesg); make it writable (mount -o remount,rw), then release again"
	case errors.Is(err, unix.EBUSY), errors.Is(err, unix.ENOTTY):
		return "something is mounted inside it, or it is itself a mount point: unmount that, then release again"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return "the daemon may not delete it: it must run as root"
	}
	return "fix the cause, then release again"
}
