package loopbtrfs

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Available reports whether Mount can work here: nil when running as root
// with mkfs.btrfs, losetup and mount installed and /dev/loop-control
// present, otherwise an error saying everything that is missing.
func Available() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "not running as root (loop devices and mounting need it)")
	}
	for _, c := range []struct{ cmd, pkg string }{
		{"mkfs.btrfs", "btrfs-progs"},
		{"losetup", "util-linux"},
		{"mount", "util-linux"},
	} {
		if _, err := exec.LookPath(c.cmd); err != nil {
			missing = append(missing, fmt.Sprintf("%s not found in PATH (install %s)", c.cmd, c.pkg))
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		missing = append(missing, "no /dev/loop-control (modprobe loop; in a container, pass the loop devices in)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("loop-mounted btrfs unavailable: %s", strings.Join(missing, "; "))
	}
	return nil
}
