package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

func init() {
	scriptCmds["fs"] = cmdFS
}

// fs new NAME | fs mount NAME DIR | fs umount DIR
//
// Filesystems that come and go under a machines root, as an operator's
// volumes do. `fs new` makes a real btrfs on a loop device, mounted at
// $FS_NAME (outside the machines root, where a script lays machines out
// with btrfs-progs); `fs mount` mounts it on DIR too (a bind mount: the
// same filesystem, its identity intact), and `fs umount` takes that
// away again, as unmounting a volume does. Everything is undone when the
// script ends, failing or not.
func cmdFS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: fs new NAME | fs mount NAME DIR | fs umount DIR")
	}
	switch {
	case args[0] == "new" && len(args) == 2:
		dir := ts.MkAbs("fs-" + args[1])
		ts.Check(os.Mkdir(dir, 0o755))
		mnt, cleanup, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize)
		ts.Check(err)
		ts.Defer(func() {
			if err := cleanup(); err != nil {
				ts.Logf("fs new %s: cleanup: %v", args[1], err)
			}
		})
		ts.Setenv("FS_"+args[1], mnt)
	case args[0] == "mount" && len(args) == 3:
		src := ts.Getenv("FS_" + args[1])
		if src == "" {
			ts.Fatalf("fs mount: no filesystem %s (fs new %s first)", args[1], args[1])
		}
		dir := ts.MkAbs(args[2])
		ts.Check(os.MkdirAll(dir, 0o755))
		fsRun(ts, "mount", "--bind", src, dir)
		// Before the filesystem's own cleanup: deferred calls run last
		// first, and this mount holds the filesystem busy.
		ts.Defer(func() {
			if mounted(dir) {
				exec.Command("umount", dir).Run()
			}
		})
	case args[0] == "umount" && len(args) == 2:
		fsRun(ts, "umount", ts.MkAbs(args[1]))
	default:
		ts.Fatalf("usage: fs new NAME | fs mount NAME DIR | fs umount DIR")
	}
}

func fsRun(ts *testscript.TestScript, name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		ts.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// mounted reports whether something is mounted on dir.
func mounted(dir string) bool {
	return exec.Command("mountpoint", "-q", filepath.Clean(dir)).Run() == nil
}
