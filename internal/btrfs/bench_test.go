package btrfs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

// BenchmarkSnapshotDelete measures what bmsched does per VM run: a
// writable snapshot of an image, and its deletion afterwards.
func BenchmarkSnapshotDelete(b *testing.B) {
	mnt := loopbtrfstest.TB(b)
	d := btrfs.NewBtrfs()
	src := filepath.Join(mnt, "image")
	if err := d.Create(src); err != nil {
		b.Fatal(err)
	}
	for i := range 8 {
		if err := writeBytes(filepath.Join(src, fmt.Sprintf("f%d", i)), 64<<10); err != nil {
			b.Fatal(err)
		}
	}
	dst := filepath.Join(mnt, "run")
	for b.Loop() {
		if err := d.Snapshot(context.Background(), src, dst, false); err != nil {
			b.Fatal(err)
		}
		if err := d.Delete(context.Background(), dst); err != nil {
			b.Fatal(err)
		}
	}
}

func writeBytes(path string, n int) error {
	return os.WriteFile(path, []byte(strings.Repeat("x", n)), 0o644)
}
