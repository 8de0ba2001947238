package btrfs

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ForPath returns the driver for the filesystem holding path. force is the
// operator's choice: "btrfs" or "plain" picks that driver, "" or "auto"
// picks btrfs on btrfs and plain elsewhere. Forcing btrfs where there is
// none fails now rather than at the first snapshot.
func ForPath(path, force string) (Driver, error) {
	const op = "choose driver"
	path = filepath.Clean(path)
	switch force {
	case "plain":
		return NewPlain(), nil
	case "btrfs", "", "auto":
	default:
		return nil, fmt.Errorf("unknown storage driver %q: want \"auto\", \"btrfs\" or \"plain\"", force)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return nil, pathError(op, path, err)
	}
	if onBtrfs(&sfs) {
		return NewBtrfs(), nil
	}
	if force == "btrfs" {
		return nil, pathError(op, path, fmt.Errorf(
			"driver btrfs forced but the filesystem is %s, not btrfs; use --driver plain (or auto)", fsName(uint32(sfs.Type))))
	}
	return NewPlain(), nil
}

// onBtrfs reports whether statfs describes btrfs. The magic is 32 bits
// wide, but the type of f_type varies by architecture (int32 on 386, where
// the btrfs magic is negative).
func onBtrfs(sfs *unix.Statfs_t) bool {
	return uint32(sfs.Type) == unix.BTRFS_SUPER_MAGIC
}

// fsName names a filesystem by its statfs magic, for error messages.
func fsName(magic uint32) string {
	switch magic {
	case unix.EXT4_SUPER_MAGIC: // also ext2 and ext3
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	case unix.BCACHEFS_SUPER_MAGIC:
		return "bcachefs"
	case unix.FUSE_SUPER_MAGIC:
		return "fuse"
	case 0x2fc12fc1:
		return "zfs"
	}
	return fmt.Sprintf("type 0x%x", magic)
}
