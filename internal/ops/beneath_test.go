package ops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/errkind"
)

// Both ways of resolving under the root, openat2 and the Lstat walk,
// agree on what is a real directory and name the entry at fault.
func TestRealDirUnder(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	for _, d := range []string{"vol/real", "outside/m"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Symlink(outside, filepath.Join(root, "vol", "evil")))
	must(t, os.Symlink("real", filepath.Join(root, "vol", "inside")))
	must(t, os.Symlink(outside, filepath.Join(root, "evilvol")))
	must(t, os.WriteFile(filepath.Join(root, "vol", "file"), nil, 0o644))
	for _, tc := range []struct {
		rel    string
		exists bool
		fault  string // the entry named in the refusal; "" for none
		why    string
	}{
		{"vol", true, "", ""},
		{"vol/real", true, "", ""},
		{"vol/none", false, "", ""},
		{"none/m", false, "", ""},
		{"vol/evil", false, "vol/evil", "is a symlink (to " + outside + ")"},
		{"vol/inside", false, "vol/inside", "is a symlink (to real)"},
		{"evilvol/m", false, "evilvol", "is a symlink"},
		{"evilvol", false, "evilvol", "is a symlink"},
		{"vol/file", false, "vol/file", "is not a directory"},
	} {
		for name, f := range map[string]func(string, string) error{"openat2": openBeneath, "lstat": lstatBeneath} {
			err := f(root, tc.rel)
			switch {
			case tc.exists && err != nil:
				t.Errorf("%s %s: %v, want resolved", name, tc.rel, err)
			case !tc.exists && tc.fault == "" && !errors.Is(err, unix.ENOENT):
				t.Errorf("%s %s: %v, want ENOENT", name, tc.rel, err)
			case tc.fault != "" && (err == nil || errors.Is(err, unix.ENOENT)):
				t.Errorf("%s %s: %v, want refused", name, tc.rel, err)
			}
		}
		ok, err := realDirUnder(root, tc.rel)
		if tc.fault == "" {
			if err != nil || ok != tc.exists {
				t.Errorf("realDirUnder(%s) = %v, %v; want %v, nil", tc.rel, ok, err, tc.exists)
			}
			continue
		}
		if !errkind.Is(err, errkind.Refused) {
			t.Errorf("realDirUnder(%s) = %v; want kind refused", tc.rel, err)
			continue
		}
		if want := filepath.Join(root, tc.fault) + " " + tc.why; !strings.Contains(err.Error(), want) {
			t.Errorf("realDirUnder(%s): %q, want it to name %q", tc.rel, err, want)
		}
	}
}

// An upgrade through a machine directory or volume that is a symlink out
// of the root is refused, and nothing is made where the link points.
func TestUpgradeRefusesSymlinkedDirs(t *testing.T) {
	for _, link := range []string{"machine", "volume"} {
		t.Run(link, func(t *testing.T) {
			o, p := newOps(t)
			src := filepath.Join(t.TempDir(), "src")
			must(t, os.Mkdir(src, 0o755))
			outside := t.TempDir()
			// A machine as the manual lays it out, outside the root.
			must(t, os.MkdirAll(filepath.Join(outside, "lin", "lin-1"), 0o755))
			must(t, os.Symlink("lin-1", filepath.Join(outside, "lin", "lin")))
			vol := "default"
			if link == "machine" {
				must(t, os.Remove(p.dir))
				must(t, os.Symlink(filepath.Join(outside, "lin"), p.dir))
			} else {
				vol = "other"
				must(t, os.Symlink(outside, filepath.Join(o.inv.Root, vol)))
			}
			err := o.Upgrade(context.Background(), vol, "lin", 2, Source{From: src}, nil, false, func(string, ...any) {})
			if !errkind.Is(err, errkind.Refused) || !strings.Contains(err.Error(), "is a symlink") {
				t.Fatalf("upgrade through a symlinked %s: %v; want kind refused naming the symlink", link, err)
			}
			if _, err := os.Lstat(filepath.Join(outside, "lin", "lin-2")); !os.IsNotExist(err) {
				t.Errorf("revision made outside the root: %v", err)
			}
			if got, _ := os.Readlink(filepath.Join(outside, "lin", "lin")); got != "lin-1" {
				t.Errorf("link outside the root switched to %q", got)
			}
			err = o.Add(context.Background(), vol, "lin2", 1, Source{From: src}, nil, func(string, ...any) {})
			if link == "volume" && !errkind.Is(err, errkind.Refused) {
				t.Errorf("add in a symlinked volume: %v; want kind refused", err)
			}
			if _, err := os.Lstat(filepath.Join(outside, "lin2")); !os.IsNotExist(err) {
				t.Errorf("machine directory made outside the root: %v", err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
