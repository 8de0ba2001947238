package btrfs

import (
	"testing"
	"unsafe"
)

// The expected values were printed by a C program compiled against
// /usr/include/linux/btrfs.h (sizeof, offsetof and the _IO* macros).
func TestIoctlABI(t *testing.T) {
	var a getSubvolInfoArgs
	offsets := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof", unsafe.Sizeof(a), 504},
		{"treeid", unsafe.Offsetof(a.TreeID), 0},
		{"name", unsafe.Offsetof(a.Name), 8},
		{"parent_id", unsafe.Offsetof(a.ParentID), 264},
		{"dirid", unsafe.Offsetof(a.DirID), 272},
		{"generation", unsafe.Offsetof(a.Generation), 280},
		{"flags", unsafe.Offsetof(a.Flags), 288},
		{"uuid", unsafe.Offsetof(a.UUID), 296},
		{"parent_uuid", unsafe.Offsetof(a.ParentUUID), 312},
		{"received_uuid", unsafe.Offsetof(a.ReceivedUUID), 328},
		{"ctransid", unsafe.Offsetof(a.Ctransid), 344},
		{"otransid", unsafe.Offsetof(a.Otransid), 352},
		{"stransid", unsafe.Offsetof(a.Stransid), 360},
		{"rtransid", unsafe.Offsetof(a.Rtransid), 368},
		{"ctime", unsafe.Offsetof(a.Ctime), 376},
		{"otime", unsafe.Offsetof(a.Otime), 392},
		{"stime", unsafe.Offsetof(a.Stime), 408},
		{"rtime", unsafe.Offsetof(a.Rtime), 424},
		{"reserved", unsafe.Offsetof(a.Reserved), 440},
		{"sizeof timespec", unsafe.Sizeof(ioctlTimespec{}), 16},
		{"sizeof vol_args", unsafe.Sizeof(volArgs{}), 4096},
		{"BTRFS_IOC_GET_SUBVOL_INFO", iocGetSubvolInfo, 0x81f8943c},
		{"BTRFS_IOC_SUBVOL_GETFLAGS", iocSubvolGetflags, 0x80089419},
		{"BTRFS_IOC_SUBVOL_SETFLAGS", iocSubvolSetflags, 0x4008941a},
		{"BTRFS_IOC_SNAP_DESTROY", iocSnapDestroy, 0x5000940f},
		{"BTRFS_SUBVOL_RDONLY", subvolRdonly, 0x2},
		{"BTRFS_ROOT_SUBVOL_RDONLY", rootSubvolRdonly, 0x1},
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("%s = %#x, want %#x", o.name, o.got, o.want)
		}
	}
}
