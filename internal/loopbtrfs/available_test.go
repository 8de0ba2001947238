package loopbtrfs_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

func TestAvailableSaysWhatIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no commands at all
	err := loopbtrfs.Available()
	if err == nil {
		t.Fatal("Available with an empty PATH: nil")
	}
	for _, want := range []string{"mkfs.btrfs", "btrfs-progs", "losetup", "util-linux"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Available() = %q; want it to mention %q", err, want)
		}
	}
	if os.Geteuid() != 0 && !strings.Contains(err.Error(), "root") {
		t.Errorf("Available() = %q; want it to mention root", err)
	}
}
