package fsscan

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// fakeProber says a path is a subvolume when it is in subvols. Like the
// real driver it fails with ENOENT on a path that does not exist. before,
// when set, runs first on every call: tests use it to play an operator
// changing the directory in the middle of a scan.
type fakeProber struct {
	subvols map[string]btrfs.Info
	before  func(op, path string)
	err     error // returned by every call when set
	probed  []string
}

func (f *fakeProber) check(op, path string) error {
	f.probed = append(f.probed, op+" "+path)
	if f.before != nil {
		f.before(op, path)
	}
	if f.err != nil {
		return &btrfs.PathError{Op: op, Path: path, Err: f.err}
	}
	if _, err := os.Lstat(path); err != nil {
		return &btrfs.PathError{Op: op, Path: path, Err: err.(*fs.PathError).Err}
	}
	return nil
}

func (f *fakeProber) IsSubvolume(path string) (bool, error) {
	if err := f.check("is-subvolume", path); err != nil {
		return false, err
	}
	_, ok := f.subvols[path]
	return ok, nil
}

func (f *fakeProber) Info(path string) (btrfs.Info, error) {
	if err := f.check("info", path); err != nil {
		return btrfs.Info{}, err
	}
	info, ok := f.subvols[path]
	if !ok {
		return btrfs.Info{}, &btrfs.PathError{Op: "info", Path: path, Err: btrfs.ErrNotSubvolume}
	}
	return info, nil
}

// layout makes the entries under root: a name ending in "/" is a
// directory, "name -> target" a symlink, anything else an empty file.
func layout(t *testing.T, root string, entries ...string) {
	t.Helper()
	for _, e := range entries {
		p := filepath.Join(root, strings.TrimSuffix(e, "/"))
		var err error
		switch {
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.Contains(e, " -> "):
			name, target, _ := strings.Cut(e, " -> ")
			err = os.Symlink(target, filepath.Join(root, name))
		default:
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestScanMachine(t *testing.T) {
	vol := filepath.Join(t.TempDir(), "default")
	dir := filepath.Join(vol, "linux-gcc_6")
	layout(t, dir,
		"linux-gcc_6-1/", "linux-gcc_6-1/inside/", "linux-gcc_6-2/",
		"linux-gcc_6 -> linux-gcc_6-2",
		"linux-gcc_6-stage/", "linux-gcc_6-stage-017/",
		"linux-gcc_6-3/", // a plain directory
		"new-linux-gcc_6 -> linux-gcc_6-2",
		".bmsched-tmp-x/", "notes.txt", "stray-dir/", "linux-gcc_6-01/",
		".bmsched-warm-stage-1/", // the warm pool's: read past, never probed
	)
	p := &fakeProber{subvols: map[string]btrfs.Info{
		filepath.Join(dir, "linux-gcc_6-1"):         {UUID: "r1", Readonly: true},
		filepath.Join(dir, "linux-gcc_6-2"):         {UUID: "r2", ParentUUID: "r1", ReceivedUUID: "x2", Readonly: true},
		filepath.Join(dir, "linux-gcc_6-stage"):     {UUID: "i", ParentUUID: "r2", Readonly: true},
		filepath.Join(dir, "linux-gcc_6-stage-017"): {UUID: "s", ParentUUID: "i"},
		filepath.Join(dir, "stray-dir"):             {UUID: "never asked"},
	}}
	m, err := ScanMachine(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != dir || m.Name != "linux-gcc_6" || m.State != Active || m.Current != 2 {
		t.Errorf("machine %+v", m)
	}
	if len(m.Revisions) != 2 || m.Revisions[1].Info.ReceivedUUID != "x2" {
		t.Errorf("revisions %+v", m.Revisions)
	}
	if len(m.Images) != 1 || m.Images[0].BaseRevision != 2 || m.Images[0].Stale {
		t.Errorf("images %+v", m.Images)
	}
	if len(m.Snapshots) != 1 || m.Snapshots[0].Image != "linux-gcc_6-stage" {
		t.Errorf("snapshots %+v", m.Snapshots)
	}
	if !reflect.DeepEqual(m.Transients, []string{"new-linux-gcc_6"}) || !reflect.DeepEqual(m.Temps, []string{".bmsched-tmp-x"}) {
		t.Errorf("transients %v temps %v", m.Transients, m.Temps)
	}
	strays := strayReasons(m)
	if len(strays) != 4 || !strings.Contains(strays["linux-gcc_6-3"], "not a subvolume") ||
		!strings.Contains(strays["linux-gcc_6-01"], "leading zero") {
		t.Errorf("strays %q", strays)
	}
	// Strays, temporaries and the insides of subvolumes are never probed;
	// the plain directory named as a revision is asked once, and only
	// subvolumes are asked for their info.
	want := []string{
		"is-subvolume " + filepath.Join(dir, "linux-gcc_6-1"),
		"info " + filepath.Join(dir, "linux-gcc_6-1"),
		"is-subvolume " + filepath.Join(dir, "linux-gcc_6-2"),
		"info " + filepath.Join(dir, "linux-gcc_6-2"),
		"is-subvolume " + filepath.Join(dir, "linux-gcc_6-3"),
		"is-subvolume " + filepath.Join(dir, "linux-gcc_6-stage"),
		"info " + filepath.Join(dir, "linux-gcc_6-stage"),
		"is-subvolume " + filepath.Join(dir, "linux-gcc_6-stage-017"),
		"info " + filepath.Join(dir, "linux-gcc_6-stage-017"),
	}
	if !reflect.DeepEqual(p.probed, want) {
		t.Errorf("probed:\n%s\nwant:\n%s", strings.Join(p.probed, "\n"), strings.Join(want, "\n"))
	}
}

// TestScanMachineRaces removes entries between the directory read and
// their probe, as an operator or bbot does: each is left out, no error.
func TestScanMachineRaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	layout(t, dir, "m-1/", "m-2/", "m-3/", "m-t/", "m-t-1/", "m -> m-2", "new-m -> m-3", "notes")
	p := &fakeProber{subvols: map[string]btrfs.Info{}}
	for _, n := range []string{"m-1", "m-2", "m-3", "m-t", "m-t-1"} {
		p.subvols[filepath.Join(dir, n)] = btrfs.Info{UUID: n}
	}
	p.before = func(op, path string) {
		switch {
		case op == "is-subvolume" && filepath.Base(path) == "m-1":
			// Gone before its probe, with a link and a later entry.
			must(t, os.Remove(path))
			must(t, os.Remove(filepath.Join(dir, "new-m")))
			must(t, os.Remove(filepath.Join(dir, "m-t-1")))
		case op == "info" && filepath.Base(path) == "m-3":
			// Gone between the two probes.
			must(t, os.Remove(path))
		}
	}
	m, err := ScanMachine(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range m.Revisions {
		names = append(names, r.Name)
	}
	for _, i := range m.Images {
		names = append(names, i.Name)
	}
	if !reflect.DeepEqual(names, []string{"m-2", "m-t"}) || len(m.Snapshots) != 0 || len(m.Transients) != 0 || m.Current != 2 {
		t.Errorf("after races: %+v", m)
	}
	if len(m.Strays) != 1 || m.Strays[0].Name != "notes" {
		t.Errorf("strays %+v", m.Strays)
	}
}

// TestScanMachineLinkSwitchedDuringRead plays the manual's `mv -T` landing
// after the directory was read: the read returned neither the old link
// nor the new one (as btrfs does for a rename that begins after the read
// does), and the scan still finds the current link.
func TestScanMachineLinkSwitchedDuringRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	layout(t, dir, "m-1/", "m-2/", "new-m -> m-2")
	p := &fakeProber{subvols: map[string]btrfs.Info{
		filepath.Join(dir, "m-1"): {UUID: "1"}, filepath.Join(dir, "m-2"): {UUID: "2"},
	}}
	p.before = func(op, path string) {
		if op == "is-subvolume" && filepath.Base(path) == "m-1" {
			must(t, os.Rename(filepath.Join(dir, "new-m"), filepath.Join(dir, "m")))
		}
	}
	m, err := ScanMachine(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Current != 2 || m.State != Active || len(m.Transients) != 0 || len(m.Strays) != 0 {
		t.Errorf("after the switch during the read: current %d, state %s, transients %q, strays %+v", m.Current, m.State, m.Transients, m.Strays)
	}
}

func TestScanMachineErrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "m")
	layout(t, dir, "m-1/")

	_, err := ScanMachine(dir, &fakeProber{err: syscall.EIO})
	checkPathError(t, err, "probe subvolume", filepath.Join(dir, "m-1"), "is-subvolume: input/output error", syscall.EIO)

	p := &fakeProber{subvols: map[string]btrfs.Info{}}
	p.subvols[filepath.Join(dir, "m-1")] = btrfs.Info{}
	p.before = func(op, path string) {
		if op == "info" {
			p.err = syscall.EPERM
		}
	}
	_, err = ScanMachine(dir, p)
	checkPathError(t, err, "read subvolume info", filepath.Join(dir, "m-1"), "info: operation not permitted", syscall.EPERM)

	_, err = ScanMachine(filepath.Join(root, "gone"), &fakeProber{})
	checkPathError(t, err, "read machine directory", filepath.Join(root, "gone"), "no such file or directory", fs.ErrNotExist)

	_, err = ScanMachine(filepath.Join(root, "new-m"), &fakeProber{})
	checkPathError(t, err, "scan machine directory", filepath.Join(root, "new-m"), `invalid machine name "new-m"`, nil)
	var ne *NameError
	if !errors.As(err, &ne) {
		t.Errorf("invalid name: %v is not a *NameError", err)
	}
}

func checkPathError(t *testing.T, err error, op, path, msg string, is error) {
	t.Helper()
	pe, ok := err.(*fs.PathError)
	if !ok {
		t.Errorf("error %v (%T), want *fs.PathError", err, err)
		return
	}
	if pe.Op != op || pe.Path != path || !strings.Contains(err.Error(), msg) || strings.Count(err.Error(), path) != 1 {
		t.Errorf("error %q, want op %q, path %q (once), %q", err, op, path, msg)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("error %v is not %v", err, is)
	}
}

// ReadRoot and ReadVolume sort what a root and a volume hold into the
// level below, bmsched's temporaries and strays, each stray with the rule
// it breaks.
func TestReadRootAndVolume(t *testing.T) {
	root := t.TempDir()
	layout(t, root,
		"default/linux-gcc_6/linux-gcc_6-1/", "default/linux-gcc_6/linux-gcc_6 -> linux-gcc_6-1",
		"default/windows-msvc_14/", "default/a-b-c/",
		"default/new-linux/", "default/.hidden/", "default/bad name/", "default/file",
		"default/link -> linux-gcc_6", "default/.bmsched-del-x/",
		"extra/", "README", ".snapshots/", "lost+found/", "a-b/", "vol-link -> default", ".bmsched-root.lock",
	)
	r, err := ReadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Dirs, []string{"default", "extra"}) || !reflect.DeepEqual(r.Temps, []string{".bmsched-root.lock"}) {
		t.Fatalf("volumes %v, temporaries %v", r.Dirs, r.Temps)
	}
	wantRoot := []string{
		`.snapshots: invalid volume name ".snapshots": must not start with '.'`,
		"README: a regular file, not a volume directory",
		`a-b: invalid volume name "a-b": contains "-": only letters, digits and _ . + are allowed`,
		`lost+found: invalid volume name "lost+found": is the filesystem's, not a volume`,
		`vol-link: invalid volume name "vol-link": contains "-": only letters, digits and _ . + are allowed`,
	}
	if got := strayLines(r.Strays); !reflect.DeepEqual(got, wantRoot) {
		t.Errorf("root strays:\n got %q\nwant %q", got, wantRoot)
	}

	v, err := ReadVolume(filepath.Join(root, "default"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a-b-c", "linux-gcc_6", "windows-msvc_14"}; !reflect.DeepEqual(v.Dirs, want) {
		t.Errorf("machines %v, want %v", v.Dirs, want)
	}
	if !reflect.DeepEqual(v.Temps, []string{".bmsched-del-x"}) {
		t.Errorf("temporaries %v", v.Temps)
	}
	want := []string{
		`.hidden: invalid machine name ".hidden": must not start with '.'`,
		`bad name: invalid machine name "bad name": contains " ": only letters, digits and _ . + - are allowed`,
		"file: a regular file, not a machine directory",
		"link: a symlink, not a machine directory",
		`new-linux: invalid machine name "new-linux": must not be "new" or start with "new-" (the prefix of an upgrade's transient link)`,
	}
	if got := strayLines(v.Strays); !reflect.DeepEqual(got, want) {
		t.Errorf("volume strays:\n got %q\nwant %q", got, want)
	}
	if !slices.IsSortedFunc(v.Strays, func(a, b Stray) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("volume strays not sorted")
	}
}

func strayLines(ss []Stray) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name+": "+s.Reason)
	}
	return out
}

func TestReadRootAndVolumeErrors(t *testing.T) {
	root := t.TempDir()
	_, err := ReadVolume(filepath.Join(root, "nope"))
	checkPathError(t, err, "read volume directory", filepath.Join(root, "nope"), "no such file", fs.ErrNotExist)
	_, err = ReadRoot(filepath.Join(root, "nope"))
	checkPathError(t, err, "read machines root", filepath.Join(root, "nope"), "no such file", fs.ErrNotExist)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestScanMachineSpecialFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	layout(t, dir, "m-1/")
	must(t, syscall.Mkfifo(filepath.Join(dir, "m"), 0o600))
	must(t, syscall.Mkfifo(filepath.Join(dir, "m-2"), 0o600))
	m, err := ScanMachine(dir, &fakeProber{subvols: map[string]btrfs.Info{filepath.Join(dir, "m-1"): {}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"m":   "current link is a special file, not a symlink",
		"m-2": "named as revision 2, but a special file, not a directory",
	}
	if got := strayReasons(m); !reflect.DeepEqual(got, want) || m.State != Pending {
		t.Errorf("strays %q, state %s", got, m.State)
	}
}
