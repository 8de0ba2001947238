package fsscan

import (
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// FuzzClassifyName holds ClassifyName to what the rest of bmsched relies
// on: nothing that could reach outside the directory is ever anything but
// a stray, and every parse can be written back to the same name.
func FuzzClassifyName(f *testing.F) {
	for _, s := range [][2]string{
		{"linux-gcc_6", "linux-gcc_6-2"},
		{"linux", "linux-gcc_6-1"},
		{"m", "m-01"},
		{"m", "../m-1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, machine, name string) {
		e := ClassifyName(machine, name)
		if e.Name != name {
			t.Fatalf("Name %q, want %q", e.Name, name)
		}
		escapes := name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || hasDotDot(name)
		if escapes && e.Kind != KindStray {
			t.Fatalf("ClassifyName(%q, %q) = %v, want a stray", machine, name, e.Kind)
		}
		if e.Kind != KindStray && ValidMachineName(machine) != nil {
			t.Fatalf("ClassifyName(%q, %q) = %v for an invalid machine", machine, name, e.Kind)
		}
		if e.Kind != KindStray && len(name) > MaxNameLen {
			t.Fatalf("ClassifyName(%q, %q) = %v for a name of %d bytes", machine, name, e.Kind, len(name))
		}
		switch e.Kind {
		case KindStray:
			if e.Reason == "" {
				t.Fatalf("ClassifyName(%q, %q): a stray with no reason", machine, name)
			}
			return
		case KindRevision:
			if e.Rev == 0 {
				t.Fatalf("ClassifyName(%q, %q): revision 0", machine, name)
			}
		case KindImage:
			if err := ValidToolchain(e.Toolchain); err != nil {
				t.Fatalf("ClassifyName(%q, %q): image: %v", machine, name, err)
			}
		case KindSnapshot:
			if err := ValidToolchain(e.Toolchain); err != nil {
				t.Fatalf("ClassifyName(%q, %q): snapshot: %v", machine, name, err)
			}
			if err := ValidSnapshotID(e.ID); err != nil {
				t.Fatalf("ClassifyName(%q, %q): snapshot: %v", machine, name, err)
			}
		case KindTemp:
			if !strings.HasPrefix(name, TempPrefix) {
				t.Fatalf("ClassifyName(%q, %q): a temporary without the prefix", machine, name)
			}
		}
		if e.Reason != "" {
			t.Fatalf("ClassifyName(%q, %q) = %v with a reason %q", machine, name, e.Kind, e.Reason)
		}
		if got := format(e, machine); got != name {
			t.Fatalf("ClassifyName(%q, %q) = %+v, which formats as %q", machine, name, e, got)
		}
		// Pure: the watcher and the full scan must agree on every name.
		if again := ClassifyName(machine, name); again != e {
			t.Fatalf("ClassifyName(%q, %q) not deterministic: %+v then %+v", machine, name, e, again)
		}
	})
}

// FuzzClassify feeds Classify arbitrary directories, encoded one entry a
// line as "<type><sub> name\ttarget\tuuid\tparent" (type: d, l, f or o;
// sub: s or -), and checks that every entry is accounted for exactly once
// and that the current revision, when there is one, is a real revision.
func FuzzClassify(f *testing.F) {
	f.Add("m", "l- m\tm-1\nds m-1\t\tr1\nds m-t\t\ti\tr1\nds m-t-1\t\ts\ti")
	f.Add("linux", "l- linux\t/etc\nd- linux-1\nf- linux-gcc_6-1\nl- new-linux\tlinux-1")
	f.Add("a-b", "ds a-b-1\t\tu\nds a-b-1\t\tu\nl- a-b\ta-b-1\no- .bmsched-x")
	f.Fuzz(func(t *testing.T, machine, dir string) {
		var entries []DirEntry
		for line := range strings.SplitSeq(dir, "\n") {
			if len(line) < 3 {
				continue
			}
			d := DirEntry{Subvolume: line[1] == 's'}
			switch line[0] {
			case 'd':
				d.Type = TypeDir
			case 'l':
				d.Type = TypeSymlink
			case 'f':
				d.Type = TypeFile
			default:
				d.Type = TypeOther
			}
			fields := strings.Split(line[3:], "\t")
			fields = append(fields, "", "", "", "")
			d.Name, d.Target = fields[0], fields[1]
			d.Info = btrfs.Info{UUID: fields[2], ParentUUID: fields[3]}
			entries = append(entries, d)
		}
		m := Classify(machine, entries)
		n := len(m.Revisions) + len(m.Images) + len(m.Snapshots) + len(m.Transients) + len(m.Temps) + len(m.Strays)
		if m.Current != 0 {
			n++
		}
		if n != len(entries) {
			t.Fatalf("%d entries in, %d out: %+v", len(entries), n, m)
		}
		switch {
		case m.Current != 0 && m.State != Active,
			m.Current == 0 && len(m.Snapshots) > 0 && m.State != Retiring,
			m.Current == 0 && len(m.Snapshots) == 0 && m.State != Pending:
			t.Fatalf("state %s with current %d and %d snapshots", m.State, m.Current, len(m.Snapshots))
		}
		if m.Current != 0 {
			found := false
			for _, r := range m.Revisions {
				found = found || r.Rev == m.Current
			}
			if !found {
				t.Fatalf("current revision %d is not among %+v", m.Current, m.Revisions)
			}
		}
		for _, i := range m.Images {
			if !i.Stale && (i.BaseRevision == 0 || i.BaseRevision != m.Current) {
				t.Fatalf("image %+v is not stale with current %d", i, m.Current)
			}
		}
	})
}
