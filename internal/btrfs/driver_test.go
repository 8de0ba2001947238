package btrfs_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// testDriver runs the behaviour both drivers share, each case in its own
// fresh directory under root.
func testDriver(t *testing.T, d btrfs.Driver, root string) {
	cases := []struct {
		name string
		f    func(*testing.T, btrfs.Driver, string)
	}{
		{"CreateSnapshot", testCreateSnapshot},
		{"SnapshotErrors", testSnapshotErrors},
		{"SnapshotOmitsNested", testSnapshotOmitsNested},
		{"Info", testInfo},
		{"ReadOnlyRoundTrip", testReadOnlyRoundTrip},
		{"DeleteReadOnly", testDeleteReadOnly},
		{"DeleteNested", testDeleteNested},
		{"DeleteMissing", testDeleteMissing},
		{"DeleteRefusesPlainDir", testDeleteRefusesPlainDir},
		{"IsSubvolume", testIsSubvolume},
		{"Exchange", testExchange},
		{"RenameNoReplace", testRenameNoReplace},
		{"Tag", testTag},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, err := os.MkdirTemp(root, c.name+"-")
			if err != nil {
				t.Fatal(err)
			}
			c.f(t, d, dir)
		})
	}
}

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func testCreateSnapshot(t *testing.T, d btrfs.Driver, dir string) {
	src := filepath.Join(dir, "src")
	mustCreate(t, d, src)
	writeFile(t, filepath.Join(src, "disk.img"), "image")
	must(t, os.Mkdir(filepath.Join(src, "sub"), 0o750))
	writeFile(t, filepath.Join(src, "sub", "conf"), "conf")
	must(t, os.Symlink("disk.img", filepath.Join(src, "link")))

	ro, rw := filepath.Join(dir, "ro"), filepath.Join(dir, "rw")
	must(t, d.Snapshot(context.Background(), src, ro, true))
	must(t, d.Snapshot(context.Background(), src, rw, false))
	for snap, wantRO := range map[string]bool{ro: true, rw: false} {
		if got, err := d.ReadOnly(snap); err != nil || got != wantRO {
			t.Errorf("ReadOnly(%s) = %v, %v; want %v", snap, got, err, wantRO)
		}
		if ok, err := d.IsSubvolume(snap); err != nil || !ok {
			t.Errorf("IsSubvolume(%s) = %v, %v; want true", snap, ok, err)
		}
		checkFile(t, filepath.Join(snap, "disk.img"), "image")
		checkFile(t, filepath.Join(snap, "sub", "conf"), "conf")
		if target, err := os.Readlink(filepath.Join(snap, "link")); err != nil || target != "disk.img" {
			t.Errorf("Readlink(link) = %q, %v; want disk.img", target, err)
		}
		if fi, err := os.Stat(filepath.Join(snap, "sub")); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("mode of sub = %v, %v; want 0750", fi.Mode(), err)
		}
	}
	// The writable snapshot is independent of its source.
	writeFile(t, filepath.Join(rw, "disk.img"), "changed")
	checkFile(t, filepath.Join(src, "disk.img"), "image")
	// And a writable snapshot of a read-only one is writable.
	rw2 := filepath.Join(dir, "rw2")
	must(t, d.Snapshot(context.Background(), ro, rw2, false))
	writeFile(t, filepath.Join(rw2, "new"), "new")
	// A snapshot may be made inside its source, and does not hold itself.
	inside := filepath.Join(rw2, "inside")
	must(t, d.Snapshot(context.Background(), rw2, inside, false))
	checkFile(t, filepath.Join(inside, "new"), "new")
	if _, err := os.Lstat(filepath.Join(inside, "inside")); err == nil {
		t.Errorf("snapshot inside its source holds itself")
	}
}

func testSnapshotErrors(t *testing.T, d btrfs.Driver, dir string) {
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	mustCreate(t, d, src)
	mustCreate(t, d, dst)
	err := d.Snapshot(context.Background(), src, dst, false)
	checkPathError(t, err, "snapshot", dst, fs.ErrExist)

	plain := filepath.Join(dir, "plain")
	must(t, os.Mkdir(plain, 0o755))
	err = d.Snapshot(context.Background(), plain, filepath.Join(dir, "x"), false)
	checkPathError(t, err, "snapshot", plain, btrfs.ErrNotSubvolume)

	missing := filepath.Join(dir, "missing")
	err = d.Snapshot(context.Background(), missing, filepath.Join(dir, "y"), false)
	checkPathError(t, err, "snapshot", missing, fs.ErrNotExist)
}

// A subvolume nested in the source is not part of a snapshot: it shows as
// an empty directory, which is not a subvolume.
func testSnapshotOmitsNested(t *testing.T, d btrfs.Driver, dir string) {
	src := filepath.Join(dir, "src")
	mustCreate(t, d, src)
	mustCreate(t, d, filepath.Join(src, "nested"))
	writeFile(t, filepath.Join(src, "nested", "f"), "f")
	snap := filepath.Join(dir, "snap")
	must(t, d.Snapshot(context.Background(), src, snap, false))
	entries, err := os.ReadDir(filepath.Join(snap, "nested"))
	if err != nil || len(entries) != 0 {
		t.Errorf("snapshot's nested = %v, %v; want an empty directory", entries, err)
	}
	if ok, err := d.IsSubvolume(filepath.Join(snap, "nested")); err != nil || ok {
		t.Errorf("IsSubvolume(snapshot's nested) = %v, %v; want false", ok, err)
	}
	must(t, d.Delete(context.Background(), snap))
}

func testInfo(t *testing.T, d btrfs.Driver, dir string) {
	src, snap := filepath.Join(dir, "src"), filepath.Join(dir, "snap")
	mustCreate(t, d, src)
	must(t, d.Snapshot(context.Background(), src, snap, true))
	si, err := d.Info(src)
	must(t, err)
	ni, err := d.Info(snap)
	must(t, err)
	if !canonicalUUID.MatchString(si.UUID) || !canonicalUUID.MatchString(ni.UUID) || si.UUID == ni.UUID {
		t.Errorf("UUIDs %q, %q: want two distinct canonical UUIDs", si.UUID, ni.UUID)
	}
	if want := (btrfs.Info{UUID: si.UUID}); si != want {
		t.Errorf("Info(src) = %+v, want %+v", si, want)
	}
	if want := (btrfs.Info{UUID: ni.UUID, ParentUUID: si.UUID, Readonly: true}); ni != want {
		t.Errorf("Info(snap) = %+v, want %+v", ni, want)
	}
	plain := filepath.Join(dir, "plain")
	must(t, os.Mkdir(plain, 0o755))
	_, err = d.Info(plain)
	checkPathError(t, err, "subvolume info", plain, btrfs.ErrNotSubvolume)
}

func testReadOnlyRoundTrip(t *testing.T, d btrfs.Driver, dir string) {
	sv := filepath.Join(dir, "sv")
	mustCreate(t, d, sv)
	for _, ro := range []bool{true, true, false, false, true} {
		must(t, d.SetReadOnly(sv, ro))
		if got, err := d.ReadOnly(sv); err != nil || got != ro {
			t.Fatalf("after SetReadOnly(%v): ReadOnly = %v, %v", ro, got, err)
		}
		if info, err := d.Info(sv); err != nil || info.Readonly != ro {
			t.Fatalf("after SetReadOnly(%v): Info = %+v, %v", ro, info, err)
		}
	}
	plain := filepath.Join(sv, "plain")
	must(t, d.SetReadOnly(sv, false))
	must(t, os.Mkdir(plain, 0o755))
	err := d.SetReadOnly(plain, true)
	checkPathError(t, err, "set read-only", plain, btrfs.ErrNotSubvolume)
	if ro, err := d.ReadOnly(sv); err != nil || ro {
		t.Errorf("SetReadOnly on a directory inside changed the subvolume: ReadOnly = %v, %v", ro, err)
	}
}

func testDeleteReadOnly(t *testing.T, d btrfs.Driver, dir string) {
	sv := filepath.Join(dir, "sv")
	mustCreate(t, d, sv)
	writeFile(t, filepath.Join(sv, "f"), "f")
	must(t, d.SetReadOnly(sv, true))
	must(t, d.Delete(context.Background(), sv))
	checkGone(t, sv)
}

func testDeleteNested(t *testing.T, d btrfs.Driver, dir string) {
	outer := filepath.Join(dir, "outer")
	mustCreate(t, d, outer)
	mustCreate(t, d, filepath.Join(outer, "inner"))
	mustCreate(t, d, filepath.Join(outer, "inner", "deeper"))
	must(t, os.MkdirAll(filepath.Join(outer, "a", "b"), 0o755))
	mustCreate(t, d, filepath.Join(outer, "a", "b", "inner2"))
	writeFile(t, filepath.Join(outer, "a", "b", "inner2", "f"), "f")
	must(t, d.SetReadOnly(filepath.Join(outer, "inner", "deeper"), true))
	must(t, d.SetReadOnly(filepath.Join(outer, "inner"), true))
	must(t, d.SetReadOnly(outer, true))
	must(t, d.Delete(context.Background(), outer))
	checkGone(t, outer)
}

func testDeleteMissing(t *testing.T, d btrfs.Driver, dir string) {
	missing := filepath.Join(dir, "missing")
	checkPathError(t, d.Delete(context.Background(), missing), "delete subvolume", missing, fs.ErrNotExist)
}

// Delete never removes what is not a subvolume.
func testDeleteRefusesPlainDir(t *testing.T, d btrfs.Driver, dir string) {
	plain := filepath.Join(dir, "plain")
	must(t, os.Mkdir(plain, 0o755))
	writeFile(t, filepath.Join(plain, "precious"), "data")
	checkPathError(t, d.Delete(context.Background(), plain), "delete subvolume", plain, btrfs.ErrNotSubvolume)
	checkFile(t, filepath.Join(plain, "precious"), "data")
}

func testIsSubvolume(t *testing.T, d btrfs.Driver, dir string) {
	sv := filepath.Join(dir, "sv")
	mustCreate(t, d, sv)
	inner := filepath.Join(sv, "dir")
	must(t, os.Mkdir(inner, 0o755))
	file := filepath.Join(sv, "file")
	writeFile(t, file, "")
	link := filepath.Join(dir, "link")
	must(t, os.Symlink("sv", link))
	for path, want := range map[string]bool{sv: true, inner: false, file: false, link: false, dir: false} {
		if got, err := d.IsSubvolume(path); err != nil || got != want {
			t.Errorf("IsSubvolume(%s) = %v, %v; want %v", path, got, err, want)
		}
	}
	missing := filepath.Join(dir, "missing")
	_, err := d.IsSubvolume(missing)
	checkPathError(t, err, "is subvolume", missing, fs.ErrNotExist)
}

func testExchange(t *testing.T, d btrfs.Driver, dir string) {
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustCreate(t, d, a)
	mustCreate(t, d, b)
	writeFile(t, filepath.Join(a, "name"), "a")
	writeFile(t, filepath.Join(b, "name"), "b")
	ai, err := d.Info(a)
	must(t, err)
	bi, err := d.Info(b)
	must(t, err)
	must(t, d.Exchange(a, b))
	checkFile(t, filepath.Join(a, "name"), "b")
	checkFile(t, filepath.Join(b, "name"), "a")
	if got, err := d.Info(a); err != nil || got.UUID != bi.UUID {
		t.Errorf("Info(a).UUID = %q, %v; want b's %q", got.UUID, err, bi.UUID)
	}
	if got, err := d.Info(b); err != nil || got.UUID != ai.UUID {
		t.Errorf("Info(b).UUID = %q, %v; want a's %q", got.UUID, err, ai.UUID)
	}
	missing := filepath.Join(dir, "missing")
	checkPathError(t, d.Exchange(a, missing), "exchange", a, fs.ErrNotExist)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, d btrfs.Driver, path string) {
	t.Helper()
	must(t, d.Create(path))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("ReadFile(%s) = %q, %v; want %q", path, got, err, want)
	}
}

func checkGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat(%s) after Delete: %v; want it gone", path, err)
	}
}

// checkPathError checks that err is a *btrfs.PathError for op and path
// that matches target.
func checkPathError(t *testing.T, err error, op, path string, target error) {
	t.Helper()
	var pe *btrfs.PathError
	if !errors.As(err, &pe) || pe.Op != op || pe.Path != path || !errors.Is(err, target) {
		t.Errorf("error = %#v (%v); want a *PathError{%q, %q} matching %v", err, err, op, path, target)
	}
}
