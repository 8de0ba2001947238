package btrfs

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// exchange swaps the directory entries a and b in one step, so that no
// observer ever sees either name missing: this is how bmsched switches a
// machine to another image. Both drivers use it; btrfs allows it across
// subvolume roots.
func exchange(a, b string) error {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return &PathError{Op: "exchange", Path: a, Err: fmt.Errorf("with %s: %w", b, err)}
	}
	return nil
}
