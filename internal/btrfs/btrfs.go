package btrfs

import (
	"context"
	"path/filepath"
	"unsafe"

	cbtrfs "github.com/containerd/btrfs/v2"
	"golang.org/x/sys/unix"
)

// Btrfs is the driver for btrfs filesystems, where subvolumes, snapshots
// and their provenance are the kernel's.
type Btrfs struct{}

// NewBtrfs returns the btrfs driver.
func NewBtrfs() Btrfs { return Btrfs{} }

var _ Driver = Btrfs{}

// Name returns "btrfs".
func (Btrfs) Name() string { return "btrfs" }

// Create makes a new, empty, writable subvolume at path.
func (Btrfs) Create(path string) error {
	path = filepath.Clean(path)
	if err := cbtrfs.SubvolCreate(path); err != nil {
		return pathError("create subvolume", path, kernelError(err))
	}
	return nil
}

// Snapshot makes dst a snapshot of the subvolume src.
func (Btrfs) Snapshot(_ context.Context, src, dst string, readonly bool) error {
	const op = "snapshot"
	src, dst = filepath.Clean(src), filepath.Clean(dst)
	// The kernel snapshots the subvolume containing src when src is an
	// ordinary directory, which is never what the caller meant.
	ok, err := isSubvolume(src)
	if err != nil {
		return pathError(op, src, err)
	}
	if !ok {
		return pathError(op, src, ErrNotSubvolume)
	}
	if err := cbtrfs.SubvolSnapshot(dst, src, readonly); err != nil {
		return pathError(op, dst, kernelError(err))
	}
	return nil
}

// ReadOnly reports the subvolume's read-only flag.
func (Btrfs) ReadOnly(path string) (bool, error) {
	path = filepath.Clean(path)
	flags, err := subvolFlags(path)
	if err != nil {
		return false, pathError("read-only flag", path, err)
	}
	return flags&subvolRdonly != 0, nil
}

// SetReadOnly sets or clears the subvolume's read-only flag.
func (Btrfs) SetReadOnly(path string, readonly bool) error {
	path = filepath.Clean(path)
	return pathError("set read-only", path, setReadOnly(path, readonly))
}

// Info reports the subvolume's UUIDs and read-only flag, from the one
// subvolume's root item (BTRFS_IOC_GET_SUBVOL_INFO, kernel 4.18+). Its
// flags are the root item's, where read-only is bit 0, not the ioctl flag
// BTRFS_SUBVOL_RDONLY (bit 1).
func (Btrfs) Info(path string) (Info, error) {
	path = filepath.Clean(path)
	a, err := subvolInfo(path)
	if err != nil {
		return Info{}, pathError("subvolume info", path, err)
	}
	return Info{
		UUID:         formatUUID(a.UUID),
		ParentUUID:   formatUUID(a.ParentUUID),
		ReceivedUUID: formatUUID(a.ReceivedUUID),
		Readonly:     a.Flags&rootSubvolRdonly != 0,
	}, nil
}

// IsSubvolume reports whether path is the root directory of a subvolume.
func (Btrfs) IsSubvolume(path string) (bool, error) {
	path = filepath.Clean(path)
	ok, err := isSubvolume(path)
	if err != nil {
		return false, pathError("is subvolume", path, err)
	}
	return ok, nil
}

// Exchange swaps the directory entries a and b atomically.
func (Btrfs) Exchange(a, b string) error { return exchange(a, b) }

// isSubvolume reports whether path (not following a final symlink) is a
// subvolume root: a directory with the subvolume root's inode number on
// btrfs.
func isSubvolume(path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != firstFreeObjectID {
		return false, nil
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return false, err
	}
	return onBtrfs(&sfs), nil
}

// openSubvol opens the subvolume root at path for an ioctl. It refuses
// anything else because the flag and info ioctls, given an ordinary
// directory, silently act on the subvolume that contains it. The checks
// are made on the open descriptor, so they hold for what the ioctl sees.
func openSubvol(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP { // a symlink, which O_NOFOLLOW refuses
		return -1, ErrNotSubvolume
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Ino != firstFreeObjectID || !onBtrfs(&sfs) {
		unix.Close(fd)
		return -1, ErrNotSubvolume
	}
	return fd, nil
}

// subvolInfo returns the kernel's description of the subvolume at path.
func subvolInfo(path string) (*getSubvolInfoArgs, error) {
	fd, err := openSubvol(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var a getSubvolInfoArgs
	if err := ioctl(fd, iocGetSubvolInfo, unsafe.Pointer(&a)); err != nil {
		return nil, err
	}
	return &a, nil
}

// subvolFlags returns the subvolume's flags (BTRFS_SUBVOL_*).
func subvolFlags(path string) (uint64, error) {
	fd, err := openSubvol(path)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var flags uint64
	if err := ioctl(fd, iocSubvolGetflags, unsafe.Pointer(&flags)); err != nil {
		return 0, err
	}
	return flags, nil
}

// setReadOnly sets or clears BTRFS_SUBVOL_RDONLY, keeping the other flags.
func setReadOnly(path string, readonly bool) error {
	fd, err := openSubvol(path)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var flags uint64
	if err := ioctl(fd, iocSubvolGetflags, unsafe.Pointer(&flags)); err != nil {
		return err
	}
	want := flags &^ subvolRdonly
	if readonly {
		want |= subvolRdonly
	}
	if want == flags {
		// Nothing to do, and SETFLAGS would commit a transaction for it.
		return nil
	}
	return ioctl(fd, iocSubvolSetflags, unsafe.Pointer(&want))
}
