package btrfs

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fsInfoArgs is struct btrfs_ioctl_fs_info_args (1024 bytes).
type fsInfoArgs struct {
	MaxID          uint64
	NumDevices     uint64
	FSID           [16]byte
	NodeSize       uint32
	SectorSize     uint32
	CloneAlignment uint32
	CsumType       uint16
	CsumSize       uint16
	Flags          uint64
	Generation     uint64
	MetadataUUID   [16]byte
	_              [944]byte
}

// iocFSInfo is BTRFS_IOC_FS_INFO, _IOR(0x94, 31, struct btrfs_ioctl_fs_info_args).
const iocFSInfo = 2<<30 | unsafe.Sizeof(fsInfoArgs{})<<16 | 0x94<<8 | 31

// FilesystemUUID returns the UUID of the btrfs filesystem holding path:
// the same for every subvolume and directory of one filesystem, and
// different for another, which is how bmsched tells that a volume's
// filesystem was unmounted or replaced.
func FilesystemUUID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var a fsInfoArgs
	if err := ioctl(int(f.Fd()), iocFSInfo, unsafe.Pointer(&a)); err != nil {
		return "", &os.PathError{Op: "read btrfs filesystem UUID (BTRFS_IOC_FS_INFO)", Path: path, Err: err}
	}
	return formatUUID(a.FSID), nil
}

// DirIdentity names the directory at path on btrfs as exactly as a mount
// can show it: the filesystem's UUID, the UUID of the subvolume holding
// the directory, and its inode number. Another subvolume of the same
// filesystem mounted in its place (the top level, say), or another
// directory bind-mounted there, names itself differently.
func DirIdentity(path string) (string, error) {
	fsid, err := FilesystemUUID(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var a getSubvolInfoArgs
	if err := ioctl(int(f.Fd()), iocGetSubvolInfo, unsafe.Pointer(&a)); err != nil {
		return "", &os.PathError{Op: "read btrfs subvolume UUID (BTRFS_IOC_GET_SUBVOL_INFO)", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return fmt.Sprintf("%s/%s/%d", fsid, formatUUID(a.UUID), st.Ino), nil
}

// FSType names the filesystem holding path ("btrfs", "ext4", ...).
func FSType(path string) (string, error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return "", &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	if onBtrfs(&sfs) {
		return "btrfs", nil
	}
	return fsName(uint32(sfs.Type)), nil
}

// IsMountRoot reports whether path is the root of a mount: a volume
// mounted on its directory, as opposed to a directory of the filesystem
// around it.
func IsMountRoot(path string) (bool, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_DONT_SYNC, unix.STATX_BASIC_STATS, &st); err != nil {
		return false, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	if st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return false, fmt.Errorf("statx %s: this kernel does not report mount roots (Linux 5.8 or later does)", path)
	}
	return st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}
