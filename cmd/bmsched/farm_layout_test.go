package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	cbtrfs "github.com/containerd/btrfs/v2"
)

// farm is one scale's volume, laid out as the manual has it: per machine
// two read-only revisions, the link to the second, and three read-only
// bootstrapped images of it.
type farm struct {
	root   string   // the machines root the daemon serves
	vol    string   // its one volume
	names  []string // the machines the cycles use; the last one's link is switched
	dels   []string // machines the delete rows delete
	cliDir string   // where btrfs-progs makes its snapshots, on the same btrfs
	seq    atomic.Int64
}

var farmToolchains = []string{"gcc", "clang", "rust"}

// farmDeletes is how many machines the delete rows delete, one each.
const farmDeletes = 5

func layFarm(b *testing.B, mnt string, n int) *farm {
	f := &farm{root: filepath.Join(mnt, "machines"), cliDir: filepath.Join(mnt, "cli")}
	f.vol = filepath.Join(f.root, "default")
	must(b, os.MkdirAll(f.vol, 0o755))
	must(b, os.Mkdir(f.cliDir, 0o755))
	start := time.Now()
	for i := range n {
		f.names = append(f.names, fmt.Sprintf("m%04d", i))
		must(b, layMachine(f.vol, f.names[i]))
	}
	for i := range farmDeletes {
		f.dels = append(f.dels, fmt.Sprintf("del%d", i))
		must(b, layMachine(f.vol, f.dels[i]))
	}
	b.Logf("laid out %d machines in %v", n+farmDeletes, time.Since(start).Round(time.Millisecond))
	return f
}

// layMachine makes name's directory: revisions 1 and 2 (2 a snapshot of
// 1, a few hundred KB of files), the link to 2, and the images.
func layMachine(vol, name string) error {
	dir := filepath.Join(vol, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	rev1 := filepath.Join(dir, name+"-1")
	if err := cbtrfs.SubvolCreate(rev1); err != nil {
		return fmt.Errorf("create %s: %w", rev1, err)
	}
	for i := range 8 {
		sub := filepath.Join(rev1, fmt.Sprintf("d%d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sub, "f"), make([]byte, 32<<10), 0o644); err != nil {
			return err
		}
	}
	rev2 := filepath.Join(dir, name+"-2")
	if err := cbtrfs.SubvolSnapshot(rev2, rev1, true); err != nil {
		return fmt.Errorf("snapshot %s: %w", rev2, err)
	}
	if err := cbtrfs.SubvolSnapshot(rev1+".ro", rev1, true); err != nil {
		return err
	}
	if err := cbtrfs.SubvolDelete(rev1); err != nil {
		return err
	}
	if err := os.Rename(rev1+".ro", rev1); err != nil {
		return err
	}
	if err := os.Symlink(name+"-2", filepath.Join(dir, name)); err != nil {
		return err
	}
	for _, tc := range farmToolchains {
		img := filepath.Join(dir, name+"-"+tc)
		if err := cbtrfs.SubvolSnapshot(img, rev2, true); err != nil {
			return fmt.Errorf("snapshot %s: %w", img, err)
		}
	}
	return nil
}

// hot is the machine cycle i uses: one of at most 16, never the last
// machine, whose link the switch rows move.
func (f *farm) hot(i int) string {
	n := min(16, len(f.names)-1)
	return f.names[i%n]
}

// linked is the machine whose link the switch rows move.
func (f *farm) linked() string { return f.names[len(f.names)-1] }

func (f *farm) image(name, toolchain string) string {
	return filepath.Join(f.vol, name, name+"-"+toolchain)
}

// btrfsCycle is what a build worker does without bmsched: btrfs
// subvolume snapshot of the image, then btrfs subvolume delete.
func (f *farm) btrfsCycle(b *testing.B, name string) time.Duration {
	dst := filepath.Join(f.cliDir, fmt.Sprintf("snap-%d", f.seq.Add(1)))
	start := time.Now()
	runOrFatal(b, "btrfs", "-q", "subvolume", "snapshot", f.image(name, "gcc"), dst)
	runOrFatal(b, "btrfs", "-q", "subvolume", "delete", dst)
	return time.Since(start)
}

func runOrFatal(b *testing.B, name string, args ...string) []byte {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		b.Fatalf("%s %v: %v\n%s", name, args, err, stderr)
	}
	return out
}
