package btrfs_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
	"golang.org/x/sys/unix"
)

func TestForPathPlain(t *testing.T) {
	tmp := t.TempDir()
	var sfs unix.Statfs_t
	must(t, unix.Statfs(tmp, &sfs))
	if sfs.Type == unix.BTRFS_SUPER_MAGIC {
		t.Skip("the temporary directory is on btrfs")
	}
	for _, force := range []string{"", "auto", "plain"} {
		d, err := btrfs.ForPath(tmp, force)
		if err != nil || d.Name() != "plain" {
			t.Errorf("ForPath(%s, %q) = %v, %v; want plain", tmp, force, d, err)
		}
	}

	_, err := btrfs.ForPath(tmp, "btrfs")
	var pe *btrfs.PathError
	if !errors.As(err, &pe) || pe.Op != "choose driver" || pe.Path != tmp {
		t.Errorf("ForPath(%s, btrfs) = %#v; want a *PathError{\"choose driver\", %q}", tmp, err, tmp)
	}
	wants := []string{tmp, "not btrfs", "--driver plain"}
	if sfs.Type == unix.EXT4_SUPER_MAGIC {
		wants = append(wants, "ext4")
	}
	for _, want := range wants {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ForPath(%s, btrfs) = %v; want an error saying %q", tmp, err, want)
		}
	}

	_, err = btrfs.ForPath(tmp, "zfs")
	for _, want := range []string{`"zfs"`, "auto", "btrfs", "plain"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ForPath(%s, zfs) = %v; want an error saying %q", tmp, err, want)
		}
	}

	missing := filepath.Join(tmp, "missing")
	_, err = btrfs.ForPath(missing, "")
	checkPathError(t, err, "choose driver", missing, fs.ErrNotExist)
}

func TestForPathBtrfs(t *testing.T) {
	mnt := loopbtrfstest.TB(t)
	for force, want := range map[string]string{"": "btrfs", "auto": "btrfs", "btrfs": "btrfs", "plain": "plain"} {
		d, err := btrfs.ForPath(mnt, force)
		if err != nil || d.Name() != want {
			t.Errorf("ForPath(%s, %q) = %v, %v; want %s", mnt, force, d, err, want)
		}
	}
}
