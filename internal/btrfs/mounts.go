package btrfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// noMountsUnder returns an EBUSY error when a filesystem is mounted at or
// below path in this process's mount namespace. os.RemoveAll descends
// into mount points, so without this check the plain driver would delete
// the files of whatever someone mounted inside an image directory.
func noMountsUnder(path string) error {
	real, err := filepath.EvalSymlinks(path) // mountinfo holds resolved paths
	if err != nil {
		return err
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(real, "/") + "/"
	for line := range strings.Lines(string(data)) {
		// Field 5 is the mount point: "36 35 98:0 /mnt1 /mnt2 rw ..."
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == real || strings.HasPrefix(mp, prefix) {
			return fmt.Errorf("a filesystem is mounted on %s: %w", mp, unix.EBUSY)
		}
	}
	return nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in a mountinfo path field.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
