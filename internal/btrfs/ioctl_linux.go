package btrfs

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The part of the kernel's btrfs ABI (include/uapi/linux/btrfs.h) that
// bmsched uses directly rather than through github.com/containerd/btrfs:
// that package has no per-subvolume info ioctl (its SubvolInfo walks every
// subvolume of the filesystem) and no flag ioctls.

const (
	// firstFreeObjectID (BTRFS_FIRST_FREE_OBJECTID) is the inode number of
	// every subvolume's root directory, and of no other directory.
	firstFreeObjectID = 256
	// subvolRdonly (BTRFS_SUBVOL_RDONLY) is the read-only flag as the
	// SUBVOL_GETFLAGS and SUBVOL_SETFLAGS ioctls have it.
	subvolRdonly = 1 << 1
	// rootSubvolRdonly (BTRFS_ROOT_SUBVOL_RDONLY, linux/btrfs_tree.h) is
	// the same flag as the on-disk root item has it, which is what
	// GET_SUBVOL_INFO reports: a different bit.
	rootSubvolRdonly = 1 << 0
	// pathNameMax (BTRFS_PATH_NAME_MAX) bounds volArgs.Name, NUL excluded.
	pathNameMax = 4087
)

// volArgs is struct btrfs_ioctl_vol_args.
type volArgs struct {
	Fd   int64
	Name [pathNameMax + 1]byte
}

// ioctlTimespec is struct btrfs_ioctl_timespec; the C struct is padded to
// 16 bytes.
type ioctlTimespec struct {
	Sec  uint64
	Nsec uint32
	_    uint32
}

// getSubvolInfoArgs is struct btrfs_ioctl_get_subvol_info_args (504
// bytes; offsets checked against the C header in ioctl_linux_test.go).
type getSubvolInfoArgs struct {
	TreeID       uint64
	Name         [256]byte
	ParentID     uint64
	DirID        uint64
	Generation   uint64
	Flags        uint64
	UUID         [16]byte
	ParentUUID   [16]byte
	ReceivedUUID [16]byte
	Ctransid     uint64
	Otransid     uint64
	Stransid     uint64
	Rtransid     uint64
	Ctime        ioctlTimespec
	Otime        ioctlTimespec
	Stime        ioctlTimespec
	Rtime        ioctlTimespec
	Reserved     [8]uint64
}

// Compile-time size checks: either index is out of range, or the constant
// underflows, unless the sizes are exactly the kernel's.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(getSubvolInfoArgs{})-504]
	_ = [1]struct{}{}[unsafe.Sizeof(volArgs{})-4096]
)

// Request numbers, in the generic _IOC encoding (dir<<30 | size<<16 |
// type<<8 | nr) used by amd64, 386, arm, arm64, riscv64, s390x and
// loong64. powerpc, mips and sparc encode differently and are not
// supported.
const (
	iocWrite = 1
	iocRead  = 2
	iocMagic = 0x94

	// BTRFS_IOC_SNAP_DESTROY: _IOW(0x94, 15, struct btrfs_ioctl_vol_args)
	iocSnapDestroy = iocWrite<<30 | unsafe.Sizeof(volArgs{})<<16 | iocMagic<<8 | 15
	// BTRFS_IOC_SUBVOL_GETFLAGS: _IOR(0x94, 25, __u64)
	iocSubvolGetflags = iocRead<<30 | 8<<16 | iocMagic<<8 | 25
	// BTRFS_IOC_SUBVOL_SETFLAGS: _IOW(0x94, 26, __u64)
	iocSubvolSetflags = iocWrite<<30 | 8<<16 | iocMagic<<8 | 26
	// BTRFS_IOC_GET_SUBVOL_INFO: _IOR(0x94, 60, struct btrfs_ioctl_get_subvol_info_args)
	iocGetSubvolInfo = iocRead<<30 | unsafe.Sizeof(getSubvolInfoArgs{})<<16 | iocMagic<<8 | 60
)

// ioctl issues request req on fd with a pointer argument.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
