package loopbtrfs_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
	"golang.org/x/sys/unix"
)

func TestTB(t *testing.T) {
	mnt := loopbtrfstest.TB(t)
	if !onBtrfs(t, mnt) {
		t.Fatalf("%s is not a btrfs mount", mnt)
	}
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The cleanup gives everything back, and may be called again.
func TestMountCleanup(t *testing.T) {
	requireAvailable(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "btrfs.img")
	mnt, cleanup, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if !onBtrfs(t, mnt) || len(loopsOf(t, img)) != 1 {
		t.Fatalf("after Mount: btrfs at %s %v, loop devices %v; want one", mnt, onBtrfs(t, mnt), loopsOf(t, img))
	}
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	checkReleased(t, dir)
	if err := cleanup(); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

// A file held open in the filesystem makes the unmount lazy; the loop
// device is still given back once the file is closed.
func TestMountCleanupBusy(t *testing.T) {
	requireAvailable(t)
	dir := t.TempDir()
	mnt, cleanup, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	f, err := os.Create(filepath.Join(mnt, "held"))
	if err != nil {
		t.Fatal(err)
	}
	err = cleanup()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkReleased(t, dir)
}

// A failure after the loop device was attached detaches it again.
func TestMountUndoesOnFailure(t *testing.T) {
	requireAvailable(t)
	dir := t.TempDir()
	// A file where the mount point goes makes the step after losetup fail.
	if err := os.WriteFile(filepath.Join(dir, "mnt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, cleanup, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize)
	if err == nil {
		cleanup()
		t.Fatal("Mount succeeded with a file in the way of the mount point")
	}
	if !strings.Contains(err.Error(), "mount point") {
		t.Errorf("error %q does not say which step failed", err)
	}
	checkReleased(t, dir)
}

func TestMountRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := loopbtrfs.Mount(dir, 64<<20); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("Mount of 64MiB: %v; want an error about the size", err)
	}
	img := filepath.Join(dir, "btrfs.img")
	if err := os.WriteFile(img, []byte("someone's"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mount over an existing image: %v; want ErrExist", err)
	}
	if b, err := os.ReadFile(img); err != nil || string(b) != "someone's" {
		t.Errorf("existing image changed: %q, %v", b, err)
	}
}

func requireAvailable(t *testing.T) {
	t.Helper()
	if err := loopbtrfs.Available(); err != nil {
		if os.Getenv(loopbtrfstest.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func onBtrfs(t *testing.T, path string) bool {
	t.Helper()
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		t.Fatal(err)
	}
	return sfs.Type == unix.BTRFS_SUPER_MAGIC
}

// loopsOf returns the `losetup -a` lines of loop devices backed by img,
// which stay listed, marked "(deleted)", after img is removed.
func loopsOf(t *testing.T, img string) []string {
	t.Helper()
	out, err := exec.Command("losetup", "-a").Output()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "("+img) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

// checkReleased checks that Mount in dir left nothing behind: no loop
// device (allowing a moment for one detached lazily), no image, no mount.
func checkReleased(t *testing.T, dir string) {
	t.Helper()
	img := filepath.Join(dir, "btrfs.img")
	deadline := time.Now().Add(5 * time.Second)
	for len(loopsOf(t, img)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if l := loopsOf(t, img); len(l) > 0 {
		t.Errorf("loop devices left: %v", l)
	}
	if _, err := os.Lstat(img); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("image left: %v", err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(info), dir) {
		t.Errorf("still mounted under %s", dir)
	}
}
