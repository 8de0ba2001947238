// Package btrfs is bmsched's storage driver: the few subvolume operations
// that the inventory and the scheduler need, on btrfs itself or, for
// filesystems that are not btrfs, on plain directories.
package btrfs

import (
	"context"
	"errors"
)

// Info is what bmsched records of a subvolume. The UUIDs are in the
// canonical 8-4-4-4-12 form, or empty when the kernel reports none.
type Info struct {
	UUID         string `json:"uuid,omitempty"`
	ParentUUID   string `json:"parent_uuid,omitempty"`
	ReceivedUUID string `json:"received_uuid,omitempty"`
	Readonly     bool   `json:"readonly"`
}

// Driver is the narrow interface every storage backend implements. Every
// path is absolute. Errors are *PathError values carrying the operation and
// the path; a missing path matches errors.Is(err, fs.ErrNotExist).
type Driver interface {
	// Name is "btrfs" or "plain".
	Name() string
	// Create makes a new, empty, writable subvolume at path.
	Create(path string) error
	// Snapshot makes dst a snapshot of the subvolume src, read-only or
	// writable. dst must not exist; its parent directory must. A copy
	// (the plain driver) stops when ctx is done.
	Snapshot(ctx context.Context, src, dst string, readonly bool) error
	// Delete removes the subvolume at path, read-only or not, clearing
	// the flag only where that is needed to delete it. It does not walk
	// the tree unless the subvolume holds nested subvolumes; a walk stops
	// when ctx is done.
	Delete(ctx context.Context, path string) error
	// ReadOnly reports the subvolume's read-only flag.
	ReadOnly(path string) (bool, error)
	// SetReadOnly sets or clears the subvolume's read-only flag.
	SetReadOnly(path string, readonly bool) error
	// Info reports the subvolume's UUIDs and read-only flag.
	Info(path string) (Info, error)
	// IsSubvolume reports whether path is the root of a subvolume.
	IsSubvolume(path string) (bool, error)
	// Exchange swaps the two directory entries a and b atomically
	// (renameat2 RENAME_EXCHANGE); both must exist.
	Exchange(a, b string) error
	// RenameNoReplace renames the entry old to new in one step, failing
	// with fs.ErrExist when new exists: what someone else put there is
	// never replaced.
	RenameNoReplace(old, new string) error
	// Exists reports whether there is an entry at path, not following a
	// final symlink; an error is any answer but "exists" or "does not".
	Exists(path string) (bool, error)
	// ReadTag returns the lease tag on the entry at path (tag.go); ok is
	// false when it has none.
	ReadTag(path string) (tag string, ok bool)
	// WriteTag tags the entry at path with tag.
	WriteTag(path, tag string) error
}

// ErrNotSubvolume is returned when a path is not a subvolume.
var ErrNotSubvolume = errors.New("not a subvolume")

// PathError records an error and the operation and path that caused it.
type PathError struct {
	Op   string
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }
