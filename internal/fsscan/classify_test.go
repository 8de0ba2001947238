package fsscan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// Entry builders: a subvolume with its UUID and parent UUID, a symlink, a
// plain directory, a regular file.
func sub(name, uuid, parent string) DirEntry {
	return DirEntry{Name: name, Type: TypeDir, Subvolume: true, Info: btrfs.Info{UUID: uuid, ParentUUID: parent, Readonly: true}}
}
func link(name, target string) DirEntry {
	return DirEntry{Name: name, Type: TypeSymlink, Target: target}
}
func dir(name string) DirEntry  { return DirEntry{Name: name, Type: TypeDir} }
func file(name string) DirEntry { return DirEntry{Name: name, Type: TypeFile} }

// strayReasons returns name → reason for the strays of m.
func strayReasons(m Machine) map[string]string {
	r := map[string]string{}
	for _, s := range m.Strays {
		r[s.Name] = s.Reason
	}
	return r
}

func TestClassifyManualLayout(t *testing.T) {
	m := Classify("linux-gcc_6", []DirEntry{
		sub("linux-gcc_6-2", "r2", "r1"),
		link("linux-gcc_6", "linux-gcc_6-2"),
		sub("linux-gcc_6-1", "r1", ""),
		sub("linux-gcc_6-stage", "i-stage", "r2"),
		sub("linux-gcc_6-stage-017", "s17", "i-stage"),
		sub("linux-gcc_6-stage-003", "s3", "i-stage"),
		sub("linux-gcc_6-old", "i-old", "r1"),
		link("new-linux-gcc_6", "linux-gcc_6-2"),
		dir(".bmsched-tmp-x"),
		file("README"),
	})
	want := Machine{
		Name:    "linux-gcc_6",
		State:   Active,
		Current: 2,
		Revisions: []Revision{
			{Rev: 1, Name: "linux-gcc_6-1", Info: btrfs.Info{UUID: "r1", Readonly: true}},
			{Rev: 2, Name: "linux-gcc_6-2", Info: btrfs.Info{UUID: "r2", ParentUUID: "r1", Readonly: true}},
		},
		Images: []Image{
			{Toolchain: "old", Name: "linux-gcc_6-old", Info: btrfs.Info{UUID: "i-old", ParentUUID: "r1", Readonly: true}, BaseRevision: 1, Stale: true},
			{Toolchain: "stage", Name: "linux-gcc_6-stage", Info: btrfs.Info{UUID: "i-stage", ParentUUID: "r2", Readonly: true}, BaseRevision: 2},
		},
		Snapshots: []Snapshot{
			{Toolchain: "stage", ID: "003", Name: "linux-gcc_6-stage-003", Info: btrfs.Info{UUID: "s3", ParentUUID: "i-stage", Readonly: true}, Image: "linux-gcc_6-stage"},
			{Toolchain: "stage", ID: "017", Name: "linux-gcc_6-stage-017", Info: btrfs.Info{UUID: "s17", ParentUUID: "i-stage", Readonly: true}, Image: "linux-gcc_6-stage"},
		},
		Transients: []string{"new-linux-gcc_6"},
		Temps:      []string{".bmsched-tmp-x"},
		Strays:     []Stray{{Name: "README", Reason: `not an entry of machine "linux-gcc_6" (linux-gcc_6, linux-gcc_6-..., new-linux-gcc_6 or .bmsched-...)`}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Classify:\n got %+v\nwant %+v", m, want)
	}
}

func TestClassifyCurrentLink(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		entries []DirEntry
		current uint64
		reason  string // of the stray named "m"; "" when the link is valid
	}{
		{"valid", []DirEntry{link("m", "m-1"), sub("m-1", "", "")}, 1, ""},
		{"valid, other revisions around", []DirEntry{link("m", "m-10"), sub("m-9", "", ""), sub("m-10", "", "")}, 10, ""},
		{"dangling", []DirEntry{link("m", "m-3"), sub("m-1", "", "")}, 0, `current link is dangling: "m-3" does not exist`},
		{"absolute", []DirEntry{link("m", "/etc"), sub("m-1", "", "")}, 0, `current link points outside the machine directory ("/etc")`},
		{"absolute to a revision", []DirEntry{link("m", "/build/machines/default/m/m-1"), sub("m-1", "", "")}, 0, "points outside the machine directory"},
		{"dot-dot", []DirEntry{link("m", ".."), sub("m-1", "", "")}, 0, `current link points outside the machine directory ("..")`},
		{"dot-dot path", []DirEntry{link("m", "../m/m-1"), sub("m-1", "", "")}, 0, `points outside the machine directory ("../m/m-1")`},
		{"dot-dot inside", []DirEntry{link("m", "m-1/../m-1"), sub("m-1", "", "")}, 0, "points outside the machine directory"},
		{"dot slash", []DirEntry{link("m", "./m-1"), sub("m-1", "", "")}, 0, `current link target "./m-1" is a path, not exactly m-<rev>`},
		{"trailing slash", []DirEntry{link("m", "m-1/"), sub("m-1", "", "")}, 0, "is a path"},
		{"dot", []DirEntry{link("m", ".")}, 0, "the machine directory itself"},
		{"empty", []DirEntry{link("m", "")}, 0, "empty target"},
		{"to itself", []DirEntry{link("m", "m")}, 0, "not a revision: the current link itself"},
		{"to an image", []DirEntry{link("m", "m-stage"), sub("m-stage", "", ""), sub("m-1", "", "")}, 0, `current link points to "m-stage", which is not a revision: the image of toolchain "stage"`},
		{"to a snapshot", []DirEntry{link("m", "m-t-1"), sub("m-t-1", "", "")}, 0, "not a revision: snapshot"},
		{"to the transient link", []DirEntry{link("m", "new-m"), link("new-m", "m-1"), sub("m-1", "", "")}, 0, "not a revision: the transient link"},
		{"to a leading-zero name", []DirEntry{link("m", "m-01"), sub("m-1", "", "")}, 0, `which is not a revision: a stray: after "m-": revision "01" has a leading zero`},
		{"to another machine", []DirEntry{link("m", "n-1"), sub("m-1", "", "")}, 0, "not a revision: a stray: not an entry"},
		{"to a plain directory", []DirEntry{link("m", "m-1"), dir("m-1")}, 0, `current link points to "m-1", which is not a valid revision: named as revision 1, but a plain directory, not a subvolume`},
		{"to a file", []DirEntry{link("m", "m-1"), file("m-1")}, 0, "not a valid revision: named as revision 1, but a regular file, not a directory"},
		{"to a symlink", []DirEntry{link("m", "m-1"), link("m-1", "/etc")}, 0, "not a valid revision: named as revision 1, but a symlink, not a directory"},
		{"a directory", []DirEntry{dir("m"), sub("m-1", "", "")}, 0, "current link is a directory, not a symlink"},
		{"a subvolume", []DirEntry{sub("m", "", ""), sub("m-1", "", "")}, 0, "current link is a directory, not a symlink"},
		{"a file", []DirEntry{file("m"), sub("m-1", "", "")}, 0, "current link is a regular file, not a symlink"},
		{"a fifo", []DirEntry{{Name: "m", Type: TypeOther}}, 0, "current link is a special file, not a symlink"},
	} {
		m := Classify("m", tc.entries)
		if m.Current != tc.current {
			t.Errorf("%s: Current = %d, want %d", tc.desc, m.Current, tc.current)
		}
		reason, isStray := strayReasons(m)["m"]
		switch {
		case tc.reason == "" && isStray:
			t.Errorf("%s: the link is a stray: %s", tc.desc, reason)
		case tc.reason != "" && !strings.Contains(reason, tc.reason):
			t.Errorf("%s: stray reason %q, want %q", tc.desc, reason, tc.reason)
		}
		if tc.reason != "" && m.State == Active {
			t.Errorf("%s: state active with an invalid link", tc.desc)
		}
	}
}

func TestClassifyTypeRules(t *testing.T) {
	m := Classify("m", []DirEntry{
		dir("m-1"),         // revision, plain directory
		file("m-2"),        // revision, file
		link("m-3", "m-1"), // revision, symlink
		dir("m-stage"),     // image, plain directory
		file("m-gcc"),      // image, file
		dir("m-stage-1"),   // snapshot, plain directory
		dir("new-m"),       // transient, directory
		file(".bmsched-x"), // temporaries may be anything
		{Name: "m-4", Type: TypeOther, Subvolume: true}, // a lie: not a directory
	})
	want := map[string]string{
		"m-1":       "named as revision 1, but a plain directory, not a subvolume",
		"m-2":       "named as revision 2, but a regular file, not a directory",
		"m-3":       "named as revision 3, but a symlink, not a directory",
		"m-4":       "named as revision 4, but a special file, not a directory",
		"m-stage":   `named as the image of toolchain "stage", but a plain directory, not a subvolume`,
		"m-gcc":     `named as the image of toolchain "gcc", but a regular file, not a directory`,
		"m-stage-1": `named as snapshot "1" of toolchain "stage", but a plain directory, not a subvolume`,
		"new-m":     "transient link is a directory, not a symlink",
	}
	if got := strayReasons(m); !reflect.DeepEqual(got, want) {
		t.Errorf("strays:\n got %q\nwant %q", got, want)
	}
	if len(m.Revisions)+len(m.Images)+len(m.Snapshots)+len(m.Transients) != 0 || !reflect.DeepEqual(m.Temps, []string{".bmsched-x"}) {
		t.Errorf("classified %+v", m)
	}
}

func TestClassifyState(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		entries []DirEntry
		want    State
	}{
		{"empty directory: being added", nil, Pending},
		{"revision received, link not yet made", []DirEntry{sub("m-1", "", "")}, Pending},
		{"link made", []DirEntry{sub("m-1", "", ""), link("m", "m-1")}, Active},
		{"active with builds", []DirEntry{sub("m-1", "r", ""), link("m", "m-1"), sub("m-t", "i", "r"), sub("m-t-1", "", "i")}, Active},
		{"link removed, builds remain", []DirEntry{sub("m-1", "r", ""), sub("m-t", "i", "r"), sub("m-t-1", "", "i")}, Retiring},
		{"link removed, builds gone", []DirEntry{sub("m-1", "r", ""), sub("m-t", "i", "r")}, Pending},
		{"invalid link, builds remain", []DirEntry{link("m", "/etc"), sub("m-t-1", "", "")}, Retiring},
		{"invalid link, no builds", []DirEntry{link("m", "m-2"), sub("m-1", "", "")}, Pending},
		{"a stray snapshot does not count", []DirEntry{dir("m-t-1")}, Pending},
		{"upgrade in progress", []DirEntry{sub("m-1", "", ""), sub("m-2", "", ""), link("m", "m-1"), link("new-m", "m-2")}, Active},
	} {
		if got := Classify("m", tc.entries).State; got != tc.want {
			t.Errorf("%s: state %s, want %s", tc.desc, got, tc.want)
		}
	}
}

func TestClassifyProvenance(t *testing.T) {
	type img struct {
		base  uint64
		stale bool
	}
	for _, tc := range []struct {
		desc    string
		entries []DirEntry
		images  map[string]img
		snaps   map[string]string // snapshot → image
	}{
		{
			desc: "bootstrapped from the current revision",
			entries: []DirEntry{link("m", "m-2"), sub("m-1", "r1", ""), sub("m-2", "r2", "r1"),
				sub("m-a", "ia", "r2"), sub("m-a-1", "s", "ia")},
			images: map[string]img{"m-a": {2, false}},
			snaps:  map[string]string{"m-a-1": "m-a"},
		},
		{
			desc:    "bootstrapped from an older revision: stale",
			entries: []DirEntry{link("m", "m-2"), sub("m-1", "r1", ""), sub("m-2", "r2", "r1"), sub("m-a", "ia", "r1")},
			images:  map[string]img{"m-a": {1, true}},
		},
		{
			desc:    "base revision deleted: unknown, stale",
			entries: []DirEntry{link("m", "m-2"), sub("m-2", "r2", "r1"), sub("m-a", "ia", "r1")},
			images:  map[string]img{"m-a": {0, true}},
		},
		{
			desc:    "no parent UUID: unknown, stale",
			entries: []DirEntry{link("m", "m-1"), sub("m-1", "r1", ""), sub("m-a", "ia", "")},
			images:  map[string]img{"m-a": {0, true}},
		},
		{
			desc: "empty UUIDs never match",
			entries: []DirEntry{link("m", "m-1"), sub("m-1", "", ""), sub("m-a", "", ""),
				sub("m-a-1", "", "")},
			images: map[string]img{"m-a": {0, true}},
			snaps:  map[string]string{"m-a-1": ""},
		},
		{
			desc:    "no current revision: stale even with a known base",
			entries: []DirEntry{sub("m-1", "r1", ""), sub("m-a", "ia", "r1")},
			images:  map[string]img{"m-a": {1, true}},
		},
		{
			desc:    "no current revision, unknown base: stale",
			entries: []DirEntry{sub("m-a", "ia", "zz")},
			images:  map[string]img{"m-a": {0, true}},
		},
		{
			desc: "two revisions share a UUID: unknown",
			entries: []DirEntry{link("m", "m-1"), sub("m-1", "r", ""), sub("m-2", "r", ""),
				sub("m-a", "ia", "r")},
			images: map[string]img{"m-a": {0, true}},
		},
		{
			desc: "a plain-directory revision is no base",
			entries: []DirEntry{link("m", "m-1"), sub("m-1", "r1", ""),
				{Name: "m-2", Type: TypeDir, Info: btrfs.Info{UUID: "r2"}}, sub("m-a", "ia", "r2")},
			images: map[string]img{"m-a": {0, true}},
		},
		{
			desc: "names do not decide: the snapshot of b was cloned from a",
			entries: []DirEntry{link("m", "m-1"), sub("m-1", "r1", ""), sub("m-a", "ia", "r1"),
				sub("m-b", "ib", "r1"), sub("m-b-1", "s", "ia"), sub("m-b-2", "s2", "gone")},
			images: map[string]img{"m-a": {1, false}, "m-b": {1, false}},
			snaps:  map[string]string{"m-b-1": "m-a", "m-b-2": ""},
		},
		{
			desc:    "a revision's parent is not an image's",
			entries: []DirEntry{link("m", "m-2"), sub("m-1", "r1", ""), sub("m-2", "r2", "r1"), sub("m-a", "ia", "r2"), sub("m-a-1", "s", "r2")},
			images:  map[string]img{"m-a": {2, false}},
			snaps:   map[string]string{"m-a-1": ""},
		},
	} {
		m := Classify("m", tc.entries)
		gotImages := map[string]img{}
		for _, i := range m.Images {
			gotImages[i.Name] = img{i.BaseRevision, i.Stale}
		}
		if !reflect.DeepEqual(gotImages, tc.images) {
			t.Errorf("%s: images %+v, want %+v", tc.desc, gotImages, tc.images)
		}
		gotSnaps := map[string]string{}
		for _, s := range m.Snapshots {
			gotSnaps[s.Name] = s.Image
		}
		if tc.snaps == nil {
			tc.snaps = map[string]string{}
		}
		if !reflect.DeepEqual(gotSnaps, tc.snaps) {
			t.Errorf("%s: snapshots %+v, want %+v", tc.desc, gotSnaps, tc.snaps)
		}
	}
}

func TestClassifySortsAndNeverNil(t *testing.T) {
	m := Classify("m", nil)
	if m.Revisions == nil || m.Images == nil || m.Snapshots == nil || m.Transients == nil || m.Temps == nil || m.Strays == nil {
		t.Errorf("nil slice in %+v", m)
	}
	m = Classify("m", []DirEntry{
		sub("m-10", "", ""), sub("m-9", "", ""), sub("m-100", "", ""),
		sub("m-z", "", ""), sub("m-a", "", ""),
		sub("m-a-2", "", ""), sub("m-a-10", "", ""), sub("m-b-1", "", ""),
		file("z"), file("a"), file("m-01"),
		dir(".bmsched-b"), dir(".bmsched-a"),
	})
	var revs []uint64
	for _, r := range m.Revisions {
		revs = append(revs, r.Rev)
	}
	var imgs, snaps, strays []string
	for _, i := range m.Images {
		imgs = append(imgs, i.Toolchain)
	}
	for _, s := range m.Snapshots {
		snaps = append(snaps, s.Name)
	}
	for _, s := range m.Strays {
		strays = append(strays, s.Name)
	}
	for _, c := range []struct {
		got, want any
	}{
		{revs, []uint64{9, 10, 100}},
		{imgs, []string{"a", "z"}},
		{snaps, []string{"m-a-10", "m-a-2", "m-b-1"}},
		{strays, []string{"a", "m-01", "z"}},
		{m.Temps, []string{".bmsched-a", ".bmsched-b"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
}

func TestClassifyDuplicatesAndInvalidMachine(t *testing.T) {
	m := Classify("m", []DirEntry{sub("m-1", "r", ""), dir("m-1"), link("m", "m-1")})
	if m.Current != 1 || len(m.Revisions) != 1 || len(m.Strays) != 1 || m.Strays[0].Reason != "duplicate entry name" {
		t.Errorf("duplicates: %+v", m)
	}
	m = Classify("a/b", []DirEntry{link("a/b", "a/b-1"), sub("a/b-1", "", "")})
	if m.State != Pending || len(m.Strays) != 2 || len(m.Revisions) != 0 {
		t.Errorf("invalid machine: %+v", m)
	}
	for _, s := range m.Strays {
		if !strings.Contains(s.Reason, `invalid machine name "a/b"`) {
			t.Errorf("invalid machine: stray %+v", s)
		}
	}
}
