package btrfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Delete removes the subvolume at path with one ioctl: the kernel drops
// the whole tree in the background, which is the point of keeping images
// in subvolumes. The read-only flag is left alone unless the kernel
// refuses: clearing it costs a btrfs transaction commit of its own, and
// root may destroy a read-only subvolume as it is; a user without
// CAP_SYS_ADMIN may not (EPERM, EROFS or EACCES), and nested subvolumes
// can only be unlinked from a writable one. Only when the kernel says
// that nested subvolumes hang off this one are they looked for and
// deleted, deepest first.
func (Btrfs) Delete(ctx context.Context, path string) error {
	const op = "delete subvolume"
	path = filepath.Clean(path)
	// Nothing but a subvolume is ever destroyed, and the check costs no
	// transaction.
	fd, err := openSubvol(path)
	if err != nil {
		return pathError(op, path, err)
	}
	unix.Close(fd)
	err = destroy(path)
	if refusedReadOnly(err) {
		if err = setReadOnly(path, false); err == nil {
			err = destroy(path)
		}
	}
	if errors.Is(err, unix.ENOTEMPTY) {
		if err = setReadOnly(path, false); err == nil {
			err = deleteNested(ctx, path)
		}
		if err == nil {
			err = destroy(path)
		}
	}
	return pathError(op, path, err)
}

// refusedReadOnly reports whether SNAP_DESTROY refused because the
// subvolume is read-only and the caller is not root.
func refusedReadOnly(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES)
}

// deleteNested deletes the subvolumes nested in the subvolume at path.
func deleteNested(ctx context.Context, path string) error {
	nested, err := nestedSubvolumes(ctx, path)
	if err != nil {
		return err
	}
	for _, n := range nested {
		// Delete handles the nested subvolume's own nested subvolumes.
		if err := (Btrfs{}).Delete(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// destroy unlinks the subvolume at path with BTRFS_IOC_SNAP_DESTROY, which
// names it relative to its parent directory.
func destroy(path string) error {
	dir, name := filepath.Split(path)
	if name == "" || len(name) > pathNameMax {
		return unix.EINVAL
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var args volArgs
	copy(args.Name[:], name)
	err = ioctl(fd, iocSnapDestroy, unsafe.Pointer(&args))
	if errors.Is(err, unix.ENOTTY) {
		// The subvolume is on btrfs (Delete checked) but its parent is
		// not: it is mounted there, and a mount's root cannot be deleted.
		return fmt.Errorf("parent directory is not on btrfs; a mounted subvolume cannot be deleted: %w", err)
	}
	return err
}

// nestedSubvolumes lists the subvolumes directly nested in the subvolume at
// root: the walk stops at each, since deleting it deals with its own.
//
// A nested subvolume is a directory with the subvolume-root inode number
// reached without crossing a mount point. Device numbers cannot tell: btrfs
// gives every subvolume its own. Mount points are skipped, because what is
// mounted there is another filesystem's (or another view of this one), not
// part of the subvolume being deleted.
func nestedSubvolumes(ctx context.Context, root string) ([]string, error) {
	var nested []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // a walk of a big tree stops with its caller
		}
		if p == root || !d.IsDir() {
			return nil
		}
		var stx unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO, &stx); err != nil {
			return &fs.PathError{Op: "statx", Path: p, Err: err}
		}
		if stx.Attributes_mask&stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0 {
			return filepath.SkipDir
		}
		if stx.Ino == firstFreeObjectID {
			nested = append(nested, p)
			return filepath.SkipDir
		}
		return nil
	})
	return nested, err
}
