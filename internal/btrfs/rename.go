package btrfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames old to new, failing with EEXIST (which
// matches fs.ErrExist) if new exists. Filesystems without
// RENAME_NOREPLACE (NFS among them) get a plain rename after a check,
// which is racy but the best they allow.
func renameNoReplace(old, new string) error {
	err := unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) {
		return err
	}
	if _, err := os.Lstat(new); err == nil {
		return unix.EEXIST
	}
	return os.Rename(old, new)
}

// rename is renameNoReplace for the drivers' method: its error names
// both entries.
func rename(old, new string) error {
	old, new = filepath.Clean(old), filepath.Clean(new)
	if err := renameNoReplace(old, new); err != nil {
		return &PathError{Op: "rename", Path: old, Err: fmt.Errorf("to %s: %w", new, err)}
	}
	return nil
}

// exists reports whether there is an entry at path, without following a
// final symlink.
func exists(path string) (bool, error) {
	_, err := os.Lstat(filepath.Clean(path))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// RenameNoReplace renames old to new unless new exists.
func (Btrfs) RenameNoReplace(old, new string) error { return rename(old, new) }

// RenameNoReplace renames old to new unless new exists.
func (Plain) RenameNoReplace(old, new string) error { return rename(old, new) }

// Exists reports whether there is an entry at path.
func (Btrfs) Exists(path string) (bool, error) { return exists(path) }

// Exists reports whether there is an entry at path.
func (Plain) Exists(path string) (bool, error) { return exists(path) }
