package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
)

// Script commands of the warm pool's scripts (testdata/script/lease_warm*.txtar).
func init() {
	scriptCmds["warmwait"] = cmdWarmWait
	scriptCmds["warmcount"] = cmdWarmCount
}

// warmPoolDir is the pool's directory in a machine's (internal/warm).
const warmPoolDir = ".bmsched-warm-pool"

// warmwait MACHINE TOOLCHAIN N: wait, up to 10s, until `show MACHINE`
// reports N warm snapshots of the image ready, and the machine's pool
// directory holds exactly N `TOOLCHAIN-*` entries, each a writable
// snapshot of the image as it is on disk now.
func cmdWarmWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: warmwait MACHINE TOOLCHAIN N")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	last := ""
	poll(ts, "10s", func() string { return "warm pool of " + args[0] + " " + args[1] + ": " + last }, func() bool {
		last = warmState(ts, args[0], args[1], n)
		return last == ""
	})
}

// warmState says how the pool of an image differs from n ready
// snapshots of it; "" when it does not.
func warmState(ts *testscript.TestScript, machine, toolchain string, n int) string {
	var m api.Machine
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts.Check(api.NewClient(ts.Getenv("SOCK")).Do(ctx, "GET", "/v1/machine?"+url.Values{"m": {machine}}.Encode(), nil, &m))
	shown := -1
	for _, t := range m.Toolchains {
		if t.Name == toolchain && t.Warm != nil {
			shown = *t.Warm
		}
	}
	if shown != n {
		return fmt.Sprintf("show reports %d ready, want %d", shown, n)
	}
	// The machine's own filesystem's driver: a volume may be a btrfs
	// mounted under a root of plain directories.
	drv, err := btrfs.ForPath(m.Dir, "auto")
	ts.Check(err)
	img, err := drv.Info(filepath.Join(m.Dir, m.Name+"-"+toolchain))
	if err != nil {
		return err.Error()
	}
	pd := filepath.Join(m.Dir, warmPoolDir)
	names := warmNames(ts, pd, toolchain+"-")
	if len(names) != n {
		return fmt.Sprintf("%d on disk (%v), want %d", len(names), names, n)
	}
	if fi, err := os.Lstat(pd); n > 0 && (err != nil || fi.Mode() != os.ModeDir|0o700) {
		return fmt.Sprintf("%s: %v, %v; want a directory of mode 0700", pd, fi.Mode(), err)
	}
	for _, name := range names {
		info, err := drv.Info(filepath.Join(pd, name))
		switch {
		case err != nil:
			return err.Error()
		case info.Readonly || info.ParentUUID != img.UUID:
			return fmt.Sprintf("%s: read-only %t, parent %s; want a writable snapshot of the image %s", name, info.Readonly, info.ParentUUID, img.UUID)
		}
	}
	return ""
}

// warmcount DIR N: the machine directory DIR holds exactly N warm
// snapshots now, in its pool directory; with N 0, no pool directory
// and no `.bmsched-warm-*` entry at all.
func cmdWarmCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: warmcount DIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	if names := warmNames(ts, filepath.Join(dir, warmPoolDir), ""); len(names) != n {
		ts.Fatalf("%s holds %d warm snapshots %v, want %d", args[0], len(names), names, n)
	}
	if names := warmNames(ts, dir, ".bmsched-warm-"); n == 0 && len(names) != 0 {
		ts.Fatalf("%s holds %v, want no warm entry", args[0], names)
	}
}

// warmNames lists the entries of dir whose names start with prefix;
// none when dir does not exist.
func warmNames(ts *testscript.TestScript, dir, prefix string) []string {
	des, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	ts.Check(err)
	var names []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), prefix) {
			names = append(names, de.Name())
		}
	}
	return names
}
