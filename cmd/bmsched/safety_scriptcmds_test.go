package main

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
)

// Script commands of the safety scripts (testdata/script/safety_*.txtar).
func init() {
	scriptCmds["pin"] = cmdPin
	scriptCmds["rmsubvol"] = cmdRmSubvol
	scriptCmds["waitexist"] = cmdWaitExist
	scriptCmds["waitbootstraps"] = cmdWaitBootstraps
}

// waitbootstraps TIMEOUT MACHINE N: wait until `show MACHINE` lists N
// bootstraps under way.
func cmdWaitBootstraps(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitbootstraps TIMEOUT MACHINE N")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	got := -1
	poll(ts, args[0], func() string { return strconv.Itoa(got) + " bootstraps, want " + args[2] }, func() bool {
		var m api.Machine
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ts.Check(api.NewClient(ts.Getenv("SOCK")).Do(ctx, "GET", "/v1/machine?"+url.Values{"m": {args[1]}}.Encode(), nil, &m))
		got = len(m.Bootstraps)
		return got == n
	})
}

// waitexist TIMEOUT PATH...: wait until every path exists.
func cmdWaitExist(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitexist TIMEOUT PATH...")
	}
	var missing []string
	poll(ts, args[0], func() string { return strings.Join(missing, ", ") + " missing" }, func() bool {
		missing = missing[:0]
		for _, p := range args[1:] {
			if _, err := os.Lstat(ts.MkAbs(p)); err != nil {
				missing = append(missing, p)
			}
		}
		return len(missing) == 0
	})
}

// pin PATH | pin -u PATH: set (or clear) the immutable flag of a
// directory or subvolume, so that deleting it fails with EPERM on btrfs
// and on plain directories alike, as a mount inside it or a read-only
// remount would make it fail in production. Whatever a script pins is
// unpinned when it ends, so that its work directory can be removed.
func cmdPin(ts *testscript.TestScript, neg bool, args []string) {
	unpin := len(args) == 2 && args[0] == "-u"
	if neg || (len(args) != 1 && !unpin) {
		ts.Fatalf("usage: pin [-u] PATH")
	}
	path := ts.MkAbs(args[len(args)-1])
	if !unpin {
		ts.Defer(func() {
			if err := setImmutable(ts, path, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
				ts.Logf("unpin %s: %v", path, err)
			}
		})
	}
	ts.Check(setImmutable(ts, path, !unpin))
}

// setImmutable changes the flag. A read-only btrfs subvolume refuses any
// flag change, so its read-only flag is cleared around it.
func setImmutable(ts *testscript.TestScript, path string, on bool) error {
	d := driverFor(ts)
	if _, err := os.Lstat(path); err != nil {
		return err
	}
	ro := false
	if sub, err := d.IsSubvolume(path); err == nil && sub {
		if ro, err = d.ReadOnly(path); err != nil {
			return err
		}
	}
	if ro {
		if err := d.SetReadOnly(path, false); err != nil {
			return err
		}
		defer d.SetReadOnly(path, true)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return &fs.PathError{Op: "get flags", Path: path, Err: err}
	}
	if on {
		flags |= fsImmutableFL
	} else {
		flags &^= fsImmutableFL
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, flags); err != nil {
		return &fs.PathError{Op: "set flags", Path: path, Err: err}
	}
	return nil
}

// rmsubvol PATH: delete a subvolume by hand, as an operator would, through
// the storage driver.
func cmdRmSubvol(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: rmsubvol PATH")
	}
	ts.Check(driverFor(ts).Delete(context.Background(), ts.MkAbs(args[0])))
}

// fsImmutableFL is FS_IMMUTABLE_FL of <linux/fs.h>, the flag `chattr +i` sets.
const fsImmutableFL = 0x00000010
