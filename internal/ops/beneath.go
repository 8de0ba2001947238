package ops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/errkind"
)

// realDirUnder tells whether rel, a path of validated names under root,
// is a real directory inside root, reached without following any
// symlink. A volume or machine directory that is a symlink would let a
// command create revisions and links wherever it points, while the scan
// reports the same entry as a stray. It returns false, nil when rel does
// not exist, and an error naming the entry at fault when some part of
// rel is a symlink or not a directory.
func realDirUnder(root, rel string) (bool, error) {
	err := openBeneath(root, rel)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// No openat2 (Linux before 5.6, or a seccomp filter): look at
		// each step instead.
		err = lstatBeneath(root, rel)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EXDEV):
		return false, refuseBeneath(root, rel, err)
	}
	return false, fmt.Errorf("open %s under the machines root %s: %w", rel, root, err)
}

// openBeneath opens rel as a directory with the kernel refusing every
// symlink and every way out of root.
func openBeneath(root, rel string) error {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open machines root %s: %w", root, err)
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// lstatBeneath is openBeneath by Lstat, one step at a time.
func lstatBeneath(root, rel string) error {
	_, err := firstUnreal(root, rel)
	return err
}

// firstUnreal returns the first step of rel that is missing, a symlink
// or not a directory, with the reason as an errno.
func firstUnreal(root, rel string) (string, error) {
	path := root
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." {
			return path, unix.EXDEV
		}
		path = filepath.Join(path, part)
		fi, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return path, unix.ENOENT
		case err != nil:
			return path, err
		case fi.Mode()&fs.ModeSymlink != 0:
			return path, unix.ELOOP
		case !fi.IsDir():
			return path, unix.ENOTDIR
		}
	}
	return "", nil
}

// refuseBeneath names the step of rel that openat2 refused.
func refuseBeneath(root, rel string, cause error) error {
	path, err := firstUnreal(root, rel)
	if err == nil || errors.Is(err, unix.ENOENT) {
		// Changed since: report what the kernel said.
		path, err = filepath.Join(root, rel), cause
	}
	why := "is not a directory"
	switch {
	case errors.Is(err, unix.ELOOP):
		t, _ := os.Readlink(path)
		why = fmt.Sprintf("is a symlink (to %s)", t)
	case errors.Is(err, unix.EXDEV):
		why = "leads out of the machines root"
	}
	return errkind.Errorf(errkind.Refused, "%s %s: bmsched follows no symlink under the machines root %s and works only in real directories there; replace it with a real directory, or remove it", path, why, root)
}

// machineDir checks a machine's volume and directory before a command
// works in them, and tells whether the machine directory exists.
func (o *Ops) machineDir(volume, machine string) (bool, error) {
	return realDirUnder(o.inv.Root, volume+"/"+machine)
}
