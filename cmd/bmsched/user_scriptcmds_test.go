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

// Script commands that run bmsched as real unprivileged users, as a
// hostile or careless local user would.
func init() {
	scriptCmds["mkuser"] = cmdMakeUsers
	scriptCmds["as"] = cmdRunAs
	scriptCmds["stall"] = cmdStall
	scriptCmds["publicbin"] = cmdPublicBin
	scriptCmds["opendirs"] = cmdOpenDirs
}

// publicbin VAR: set $VAR to a copy of bmsched that every user may run,
// for a background `exec setpriv ... $VAR ARGS &name&`.
func cmdPublicBin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: publicbin VAR")
	}
	ts.Setenv(args[0], publicBinaryFor(ts, "bmsched"))
}

// mkuser NAME...: make sure each system user exists (with a group of the
// same name and no home) and set $NAME_uid and $NAME_gid. The users stay
// for later runs. Making them is serialized, within this process and with
// every other test process on the host (a lock file), since useradd calls
// that overlap fail on the lock of /etc/passwd.
func cmdMakeUsers(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: mkuser NAME...")
	}
	if os.Geteuid() != 0 {
		ts.Fatalf("mkuser needs root: guard the script with [!root] skip")
	}
	for _, name := range args {
		u, err := makeTestUser(name)
		ts.Check(err)
		ts.Setenv(name+"_uid", u.Uid)
		ts.Setenv(name+"_gid", u.Gid)
	}
}

var testUsersMu sync.Mutex

func makeTestUser(name string) (*user.User, error) {
	testUsersMu.Lock()
	defer testUsersMu.Unlock()
	if u, err := user.Lookup(name); err == nil {
		return u, nil
	}
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
		// Another process on the host may hold /etc/passwd's own lock.
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("useradd %s: %v: %s", name, err, out)
}

// as USER N PROG [ARG...]: run PROG as USER (its uid, its group and its
// supplementary groups, by setpriv), which must exit with status N; the
// output is kept for stdout and stderr checks. PROG bmsched is a copy of
// the binary that every user may run, and the socket's directory is
// opened to every user.
func cmdRunAs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: as USER N PROG [ARG...]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	prog := args[2]
	if prog == "bmsched" {
		prog = publicBinaryFor(ts, "bmsched")
	}
	err = ts.Exec("setpriv", append([]string{"--reuid=" + args[0], "--regid=" + args[0], "--init-groups", prog}, args[3:]...)...)
	got := exitStatus(ts, err, "as "+args[0]+" "+args[2])
	if got != want {
		ts.Fatalf("%s as %s exited %d, want %d", args[2], args[0], got, want)
	}
}

// publicBins are the copies of this binary that other users can run, by
// script and name.
var publicBins sync.Map // publicKey → string

type publicKey struct {
	ts   *testscript.TestScript
	name string
}

// publicBinaryFor copies this test binary, as name (a program of
// TestMain's), to a directory every user may enter, once per script, and
// opens the directory of the script's socket to them.
func publicBinaryFor(ts *testscript.TestScript, name string) string {
	key := publicKey{ts, name}
	if p, ok := publicBins.Load(key); ok {
		return p.(string)
	}
	exe, err := os.Executable()
	ts.Check(err)
	dir, err := os.MkdirTemp("", "bmsched-pub")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(dir); publicBins.Delete(key) })
	ts.Check(os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, name)
	src, err := os.Open(exe)
	ts.Check(err)
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	ts.Check(err)
	_, err = io.Copy(dst, src)
	ts.Check(errors.Join(err, dst.Close()))
	if name == "bmsched" {
		// bmsched runs bmschedd, found beside it, for serve and db.
		ts.Check(os.Link(bin, filepath.Join(dir, "bmschedd")))
	}
	ts.Check(os.Chmod(filepath.Dir(ts.Getenv("SOCK")), 0o755))
	publicBins.Store(key, bin)
	return bin
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
