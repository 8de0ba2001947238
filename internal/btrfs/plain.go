package btrfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Plain is the driver for filesystems that are not btrfs. A "subvolume" is
// a directory bmsched made and marked with the extended attribute
// user.bmsched.uuid; a snapshot is a copy (reflinked where the filesystem
// can); read-only is an attribute bmsched keeps, not a kernel guarantee.
// It lets bmsched run unchanged, if slower, where btrfs is not available.
type Plain struct{}

// NewPlain returns the plain-directory driver.
func NewPlain() Plain { return Plain{} }

var _ Driver = Plain{}

// Name returns "plain".
func (Plain) Name() string { return "plain" }

// Create makes a new, empty, marked directory at path.
func (Plain) Create(path string) error {
	const op = "create subvolume"
	path = filepath.Clean(path)
	if err := os.Mkdir(path, 0o755); err != nil {
		return pathError(op, path, err)
	}
	if err := setxattr(path, xattrUUID, newUUID()); err != nil {
		// Unmarked, bmsched could never delete it: don't leave it behind.
		os.Remove(path)
		return pathError(op, path, err)
	}
	return nil
}

// Delete removes the marked directory at path and everything in it. It
// refuses a directory bmsched did not mark, and one with a filesystem
// mounted somewhere inside, whose files os.RemoveAll would otherwise
// delete.
func (Plain) Delete(ctx context.Context, path string) error {
	const op = "delete subvolume"
	path = filepath.Clean(path)
	if _, err := plainUUID(path); err != nil {
		return pathError(op, path, err)
	}
	if err := noMountsUnder(path); err != nil {
		return pathError(op, path, err)
	}
	if err := ctx.Err(); err != nil {
		return pathError(op, path, err)
	}
	return pathError(op, path, os.RemoveAll(path))
}

// ReadOnly reports whether the directory is marked read-only.
func (Plain) ReadOnly(path string) (bool, error) {
	path = filepath.Clean(path)
	ro, err := plainReadOnly(path)
	if err != nil {
		return false, pathError("read-only flag", path, err)
	}
	return ro, nil
}

// SetReadOnly marks the directory read-only or writable.
func (Plain) SetReadOnly(path string, readonly bool) error {
	const op = "set read-only"
	path = filepath.Clean(path)
	if _, err := plainUUID(path); err != nil {
		return pathError(op, path, err)
	}
	if readonly {
		return pathError(op, path, setxattr(path, xattrReadonly, "1"))
	}
	return pathError(op, path, removexattr(path, xattrReadonly))
}

// Info reports the directory's UUID, the UUID it was copied from and its
// read-only mark. Nothing is ever received, so ReceivedUUID is empty.
func (Plain) Info(path string) (Info, error) {
	const op = "subvolume info"
	path = filepath.Clean(path)
	uuid, err := plainUUID(path)
	if err != nil {
		return Info{}, pathError(op, path, err)
	}
	parent, err := getxattr(path, xattrParent)
	if err != nil && !errors.Is(err, unix.ENODATA) {
		return Info{}, pathError(op, path, err)
	}
	ro, err := readonlyMark(path)
	if err != nil {
		return Info{}, pathError(op, path, err)
	}
	return Info{UUID: uuid, ParentUUID: parent, Readonly: ro}, nil
}

// IsSubvolume reports whether path is a directory bmsched marked.
func (Plain) IsSubvolume(path string) (bool, error) {
	path = filepath.Clean(path)
	_, err := plainUUID(path)
	if errors.Is(err, ErrNotSubvolume) {
		return false, nil
	}
	if err != nil {
		return false, pathError("is subvolume", path, err)
	}
	return true, nil
}

// Exchange swaps the directory entries a and b atomically.
func (Plain) Exchange(a, b string) error { return exchange(a, b) }

// plainUUID returns the UUID of the marked directory at path, or
// ErrNotSubvolume for anything else (not following a final symlink).
func plainUUID(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", ErrNotSubvolume
	}
	uuid, err := getxattr(path, xattrUUID)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.EOPNOTSUPP) {
		return "", ErrNotSubvolume
	}
	return uuid, err
}

// plainReadOnly reports the read-only mark of the marked directory at path.
func plainReadOnly(path string) (bool, error) {
	if _, err := plainUUID(path); err != nil {
		return false, err
	}
	return readonlyMark(path)
}

// readonlyMark reads the read-only mark of a directory known to be marked.
func readonlyMark(path string) (bool, error) {
	v, err := getxattr(path, xattrReadonly)
	if errors.Is(err, unix.ENODATA) {
		return false, nil
	}
	return v == "1", err
}
