package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands that run clients as real unprivileged users.
func init() {
	scriptCmds["mkuser"] = cmdMkUser
	scriptCmds["as"] = cmdAs
	scriptCmds["opendirs"] = cmdOpenDirs
}

// opendirs PATH: let every user traverse the directories from the
// temporary directory down to PATH (the script's own, 0700 by default),
// so that a user run by as can reach a snapshot under $WORK.
func cmdOpenDirs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: opendirs PATH")
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	ts.Check(err)
	for p := ts.MkAbs(args[0]); strings.HasPrefix(p, tmp+"/"); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		ts.Check(err)
		ts.Check(os.Chmod(p, fi.Mode().Perm()|0o011))
	}
}

// mkuser NAME...: make sure each system user exists (with a group of the
// same name and no home) and set $NAME_uid and $NAME_gid. The users stay
// for later runs: making them is serialized, since useradd calls that
// overlap fail on the lock of /etc/passwd.
func cmdMkUser(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: mkuser NAME...")
	}
	if os.Geteuid() != 0 {
		ts.Fatalf("mkuser needs root: guard the script with [!root] skip")
	}
	for _, name := range args {
		u, err := ensureUser(name)
		ts.Check(err)
		ts.Setenv(name+"_uid", u.Uid)
		ts.Setenv(name+"_gid", u.Gid)
	}
}

var userMu sync.Mutex

func ensureUser(name string) (*user.User, error) {
	userMu.Lock()
	defer userMu.Unlock()
	if u, err := user.Lookup(name); err == nil {
		return u, nil
	}
	// Other test processes (other packages, other checkouts) add users
	// too: take a lock file between processes, and retry when useradd
	// still finds /etc/passwd locked.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "bmsched-useradd.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	var out []byte
	for try := 0; try < 20; try++ {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
		out, err = exec.Command("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err == nil {
			return user.Lookup(name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
}

// as USER N PROG [ARG...]: run PROG as USER (its uid, its group and its
// supplementary groups, by setpriv), which must exit with status N; the
// output is kept for stdout and stderr checks. PROG bmsched is a copy of
// the binary that every user may run, and the socket's directory is
// opened to every user.
func cmdAs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: as USER N PROG [ARG...]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	prog := args[2]
	if prog == "bmsched" {
		prog = publicCopy(ts)
	}
	ts.Check(os.Chmod(filepath.Dir(ts.Getenv("SOCK")), 0o755))
	argv := append([]string{"--reuid=" + args[0], "--regid=" + args[0], "--init-groups", prog}, args[3:]...)
	err = ts.Exec("setpriv", argv...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("as %s %s: %v", args[0], args[2], err)
	}
	if got != want {
		ts.Fatalf("%s as %s exited %d, want %d", args[2], args[0], got, want)
	}
}

// publicCopies are the copies of this binary that publicCopy made, by
// script; each is removed when its script ends.
var publicCopies = struct {
	sync.Mutex
	m map[*testscript.TestScript]string
}{m: map[*testscript.TestScript]string{}}

func publicCopy(ts *testscript.TestScript) string {
	publicCopies.Lock()
	defer publicCopies.Unlock()
	if p, ok := publicCopies.m[ts]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "bmsched-pub")
	ts.Check(err)
	ts.Defer(func() {
		os.RemoveAll(dir)
		publicCopies.Lock()
		delete(publicCopies.m, ts)
		publicCopies.Unlock()
	})
	ts.Check(os.Chmod(dir, 0o755))
	exe, err := os.Executable()
	ts.Check(err)
	src, err := os.Open(exe)
	ts.Check(err)
	defer src.Close()
	bin := filepath.Join(dir, "bmsched")
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	ts.Check(err)
	_, err = io.Copy(dst, src)
	ts.Check(errors.Join(err, dst.Close()))
	publicCopies.m[ts] = bin
	return bin
}
