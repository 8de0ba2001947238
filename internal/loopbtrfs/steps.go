package loopbtrfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// run runs a command for the step of Mount described by step and returns
// its standard output. Its error names the step, the command, what the
// command said and hint, what to do about it.
func run(step, hint, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			msg = ": " + msg
		}
		return "", fmt.Errorf("loopbtrfs: %s: %s: %w%s (%s)", step, cmd, err, msg, hint)
	}
	return stdout.String(), nil
}

// unmount unmounts mnt, retrying while it is busy (a process may still be
// closing files there), and detaching it lazily if it stays busy, so that
// the loop device is freed as soon as the last user lets go. It uses
// umount(2) rather than umount(8) because the errno tells "busy" from
// "not mounted" without parsing localized messages.
func unmount(mnt string) error {
	delay := 10 * time.Millisecond
	for range 6 {
		err := unix.Unmount(mnt, 0)
		switch {
		case err == nil, errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // unmounted, or already not mounted
		case !errors.Is(err, unix.EBUSY):
			return fmt.Errorf("loopbtrfs: unmount %s: %w (unmount it by hand: umount %s)", mnt, err, mnt)
		}
		time.Sleep(delay)
		delay *= 2
	}
	if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("loopbtrfs: lazy unmount %s: %w (unmount it by hand: umount -l %s)", mnt, err, mnt)
	}
	return nil
}

// detach detaches the loop device. If the filesystem on it was unmounted
// lazily and is still in use, the kernel marks the device to detach itself
// when the last user is gone.
func detach(dev string) error {
	_, err := run("detach "+dev, "detach it by hand: losetup -d "+dev, "losetup", "-d", dev)
	return err
}

// removeIfExists removes a file or empty directory that may be gone.
func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("loopbtrfs: %w", err)
	}
	return nil
}
