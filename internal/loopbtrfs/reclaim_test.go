package loopbtrfs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

// TestMain lets the test binary play a test process that mounts a loop
// btrfs and dies without its cleanup, as a panic or a SIGKILL makes it.
func TestMain(m *testing.M) {
	if dir := os.Getenv("LOOPBTRFS_DIE_MOUNTED"); dir != "" {
		loopbtrfs.SlotDir = os.Getenv("LOOPBTRFS_SLOT_DIR")
		if _, _, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		os.Exit(0) // no cleanup
	}
	os.Exit(m.Run())
}

// What a process that died holding a loop slot left behind is undone by
// the next taker of that slot: the mount, the loop device, the image.
func TestReclaimAfterDeath(t *testing.T) {
	if err := loopbtrfs.Available(); err != nil {
		if os.Getenv(loopbtrfstest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// Slots of its own, so that the slot the child dies holding is the
	// first this test takes, whatever other tests hold meanwhile.
	slots := t.TempDir()
	defer func(d string) { loopbtrfs.SlotDir = d }(loopbtrfs.SlotDir)
	loopbtrfs.SlotDir = slots
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LOOPBTRFS_DIE_MOUNTED="+dir, "LOOPBTRFS_SLOT_DIR="+slots)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mounting child: %v: %s", err, out)
	}
	mnt, img := filepath.Join(dir, "mnt"), filepath.Join(dir, "btrfs.img")
	if !mountedAt(t, mnt) {
		t.Fatal("the child's mount is not there to reclaim")
	}
	_, cleanup, err := loopbtrfs.Mount(t.TempDir(), loopbtrfs.MinSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup() })
	if mountedAt(t, mnt) {
		t.Errorf("%s is still mounted after every slot was taken", mnt)
	}
	if _, err := os.Stat(img); !os.IsNotExist(err) {
		t.Errorf("image %s is still there: %v", img, err)
	}
	out, _ := exec.Command("losetup", "-j", img).Output()
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("a loop device is still attached to %s: %s", img, out)
	}
}

func mountedAt(t *testing.T, dir string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
