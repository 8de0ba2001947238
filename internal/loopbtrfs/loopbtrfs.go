// Package loopbtrfs makes a small, real btrfs filesystem on a loop device,
// for tests (of several packages), testscript scripts and the demo, which
// must exercise the kernel's btrfs and not a stand-in. Tests take one
// with loopbtrfstest.TB, kept apart so that no program links testing.
//
// It needs root, btrfs-progs and util-linux. Loop devices are a scarce,
// machine-wide resource, so every path out of Mount, failure included,
// gives back what it took.
package loopbtrfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// DefaultSize is the usual image size: roomy for tests, sparse on disk.
	DefaultSize int64 = 256 << 20
	// MinSize is the smallest image mkfs.btrfs accepts.
	MinSize int64 = 114 << 20
)

// Mount creates a sparse image dir/btrfs.img of size bytes, makes a btrfs
// filesystem in it, attaches it to a free loop device and mounts that on
// dir/mnt, which it returns. cleanup unmounts, detaches the loop device and
// removes the image and mount point; it may be called more than once.
//
// On error nothing is left behind: no mount, no loop device, no image.
// It waits while Slots loop devices are in use by this package anywhere
// on the machine.
func Mount(dir string, size int64) (mnt string, cleanup func() error, err error) {
	if size < MinSize {
		return "", nil, fmt.Errorf("loopbtrfs: image size %d is below the %d bytes mkfs.btrfs needs", size, MinSize)
	}
	img := filepath.Join(dir, "btrfs.img")
	mnt = filepath.Join(dir, "mnt")
	var u undoStack
	defer func() {
		if err != nil {
			if uerr := u.run(); uerr != nil {
				err = fmt.Errorf("%w; undoing it also failed: %v", err, uerr)
			}
		}
	}()

	sl, err := takeSlot()
	if err != nil {
		return "", nil, err
	}
	u.push(sl.release)

	if err := createImage(img, size); err != nil {
		return "", nil, err
	}
	u.push(func() error { return removeIfExists(img) })

	if _, err := run("make the filesystem", "is btrfs-progs installed?",
		"mkfs.btrfs", "-q", img); err != nil {
		return "", nil, err
	}

	out, err := run("attach the image to a loop device",
		"loop devices need root; see `losetup -a` for devices in use and check /dev/loop-control",
		"losetup", "--find", "--show", img)
	if err != nil {
		return "", nil, err
	}
	dev := strings.TrimSpace(out)
	u.push(func() error { return detach(dev) })
	// Recorded before the mount, so that a process that dies from here
	// on leaves the next taker of the slot what to undo.
	if err := sl.record(img, dev, mnt); err != nil {
		return "", nil, fmt.Errorf("loopbtrfs: record the loop slot: %w", err)
	}

	if err := os.Mkdir(mnt, 0o755); err != nil {
		return "", nil, fmt.Errorf("loopbtrfs: make the mount point: %w", err)
	}
	u.push(func() error { return removeIfExists(mnt) })

	if _, err := run("mount "+dev, "run as root; is the btrfs module available (modprobe btrfs)?",
		"mount", "-t", "btrfs", dev, mnt); err != nil {
		return "", nil, err
	}
	u.push(func() error { return unmount(mnt) })

	return mnt, u.once(), nil
}

// createImage creates the sparse image file. It refuses to reuse one: an
// image left by a crash may still be attached to a loop device.
func createImage(img string, size int64) error {
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("loopbtrfs: create the image: %w (if an earlier run left it, find its loop device with `losetup -j %s`, detach that with `losetup -d`, then remove the image)", err, img)
	}
	if err != nil {
		return fmt.Errorf("loopbtrfs: create the image: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(img)
		return fmt.Errorf("loopbtrfs: size the image: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(img)
		return fmt.Errorf("loopbtrfs: create the image: %w", err)
	}
	return nil
}
