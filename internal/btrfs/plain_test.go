package btrfs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"golang.org/x/sys/unix"
)

func TestPlain(t *testing.T) {
	root := t.TempDir()
	if err := unix.Lsetxattr(root, "user.bmsched.probe", []byte("1"), 0); errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("%s: no user xattrs here", root)
	}
	d := btrfs.NewPlain()
	testDriver(t, d, root)

	t.Run("SnapshotKeepsModesAndSkipsSockets", func(t *testing.T) {
		src, dst := filepath.Join(root, "modes"), filepath.Join(root, "modes-snap")
		mustCreate(t, d, src)
		writeFile(t, filepath.Join(src, "exe"), "#!/bin/sh\n")
		must(t, os.Chmod(filepath.Join(src, "exe"), 0o751|os.ModeSetuid))
		must(t, os.Mkdir(filepath.Join(src, "ro"), 0o555))
		sock := filepath.Join(src, "qmp.sock")
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		must(t, err)
		defer unix.Close(fd)
		must(t, unix.Bind(fd, &unix.SockaddrUnix{Name: sock}))

		must(t, d.Snapshot(context.Background(), src, dst, false))
		for name, want := range map[string]os.FileMode{"exe": 0o751 | os.ModeSetuid, "ro": 0o555 | os.ModeDir} {
			if fi, err := os.Lstat(filepath.Join(dst, name)); err != nil || fi.Mode() != want {
				t.Errorf("mode of %s = %v, %v; want %v", name, fi.Mode(), err, want)
			}
		}
		if _, err := os.Lstat(filepath.Join(dst, "qmp.sock")); err == nil {
			t.Errorf("socket copied")
		}
		// No temporary is left next to the snapshot.
		if m, _ := filepath.Glob(filepath.Join(root, btrfs.CopyTempPrefix+"*")); len(m) != 0 {
			t.Errorf("temporaries left: %v", m)
		}
	})

	t.Run("DeleteRefusesMounts", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting needs root")
		}
		sv := filepath.Join(root, "mounted")
		mustCreate(t, d, sv)
		mp := filepath.Join(sv, "mp")
		must(t, os.Mkdir(mp, 0o755))
		must(t, unix.Mount("tmpfs", mp, "tmpfs", 0, "size=1m"))
		defer unix.Unmount(mp, unix.MNT_DETACH)
		writeFile(t, filepath.Join(mp, "precious"), "data")
		checkPathError(t, d.Delete(context.Background(), sv), "delete subvolume", sv, syscall.EBUSY)
		checkFile(t, filepath.Join(mp, "precious"), "data")
	})
}
