package btrfs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

func TestFSInfoABI(t *testing.T) {
	if n := unsafe.Sizeof(fsInfoArgs{}); n != 1024 {
		t.Fatalf("btrfs_ioctl_fs_info_args is %d bytes here, 1024 in the kernel", n)
	}
	if iocFSInfo != 0x8400941f {
		t.Fatalf("BTRFS_IOC_FS_INFO = %#x, want 0x8400941f", iocFSInfo)
	}
}

// Every directory and subvolume of one btrfs has the filesystem's UUID;
// a mount root is told from a directory; another filesystem differs.
func TestFilesystemUUID(t *testing.T) {
	mnt := loopbtrfstest.TB(t)
	sub := filepath.Join(mnt, "sub")
	if err := NewBtrfs().Create(sub); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	want, err := FilesystemUUID(mnt)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(want) {
		t.Fatalf("filesystem UUID %q", want)
	}
	for _, p := range []string{sub, dir} {
		if got, err := FilesystemUUID(p); err != nil || got != want {
			t.Errorf("FilesystemUUID(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
	for p, want := range map[string]bool{mnt: true, sub: false, dir: false} {
		if got, err := IsMountRoot(p); err != nil || got != want {
			t.Errorf("IsMountRoot(%s) = %v, %v; want %v", p, got, err, want)
		}
	}
	// The directory's own identity tells subvolumes and directories of
	// one filesystem apart, and is stable.
	ids := map[string]string{}
	for _, p := range []string{mnt, sub, dir} {
		id, err := DirIdentity(p)
		if err != nil || !strings.HasPrefix(id, want+"/") {
			t.Fatalf("DirIdentity(%s) = %q, %v", p, id, err)
		}
		if again, _ := DirIdentity(p); again != id {
			t.Errorf("DirIdentity(%s) changed: %q then %q", p, id, again)
		}
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share the identity %s", p, other, id)
		}
		ids[id] = p
	}
	if typ, err := FSType(sub); err != nil || typ != "btrfs" {
		t.Errorf("FSType = %q, %v", typ, err)
	}
	if _, err := FilesystemUUID(t.TempDir()); err == nil && os.Getenv("TMPDIR") == "" {
		// The test's temporary directory is on another filesystem, most
		// likely not btrfs: the ioctl must fail there, not answer.
		if typ, _ := FSType(t.TempDir()); typ != "btrfs" {
			t.Error("FilesystemUUID answered on a filesystem that is not btrfs")
		}
	}
}
