package btrfs_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// testRenameNoReplace: a subvolume moves to a free name in one step, and
// never over an entry that is there, whatever it is.
func testRenameNoReplace(t *testing.T, d btrfs.Driver, dir string) {
	a, b, taken := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "taken")
	mustCreate(t, d, a)
	writeFile(t, filepath.Join(a, "name"), "a")
	mustCreate(t, d, taken)
	must(t, d.RenameNoReplace(a, b))
	checkFile(t, filepath.Join(b, "name"), "a")
	if there, err := d.Exists(a); err != nil || there {
		t.Errorf("Exists(a) after the rename = %v, %v; want false", there, err)
	}
	if there, err := d.Exists(b); err != nil || !there {
		t.Errorf("Exists(b) after the rename = %v, %v; want true", there, err)
	}
	checkPathError(t, d.RenameNoReplace(b, taken), "rename", b, fs.ErrExist)
	checkFile(t, filepath.Join(b, "name"), "a")
	if ok, err := d.IsSubvolume(taken); err != nil || !ok {
		t.Errorf("the entry a rename refused to replace: IsSubvolume = %v, %v", ok, err)
	}
	checkPathError(t, d.RenameNoReplace(a, filepath.Join(dir, "c")), "rename", a, fs.ErrNotExist)
	must(t, d.Delete(context.Background(), b))
}

// testTag: a subvolume's lease tag reads back as written, survives a
// rename, and a snapshot does not make it up.
func testTag(t *testing.T, d btrfs.Driver, dir string) {
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustCreate(t, d, a)
	if tag, ok := d.ReadTag(a); ok {
		t.Errorf("a new subvolume has the tag %q", tag)
	}
	const tag = "db=d lease=7 boot=b"
	must(t, d.WriteTag(a, tag))
	must(t, d.RenameNoReplace(a, b))
	if got, ok := d.ReadTag(b); !ok || got != tag {
		t.Errorf("ReadTag after a rename = %q, %v; want %q", got, ok, tag)
	}
	if _, ok := d.ReadTag(filepath.Join(dir, "missing")); ok {
		t.Error("a missing entry has a tag")
	}
	if err := d.WriteTag(filepath.Join(dir, "missing"), tag); err == nil {
		t.Error("tagging a missing entry succeeded")
	}
}
