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
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// Script commands that run bmsched as a real unprivileged user, as a
// hostile or careless local user would.
func init() {
	scriptCmds["as"] = cmdAs
	scriptCmds["stall"] = cmdStall
}

// testUser is the unprivileged account the scripts act as; testOperator
// is a member of testOperators, the group scripts pass to serve --operators.
const (
	testUser      = "bmsh-user"
	testOperator  = "bmsh-op"
	testOperators = "bmsh-ops"
)

// usersOnce creates the test accounts once per test process; the file
// lock serializes it with other test processes on the host, since
// concurrent useradd calls race for /etc/passwd.
var usersOnce = sync.OnceValue(func() error {
	lock, err := os.OpenFile("/run/lock/bmsched-test-useradd.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	if _, err := user.LookupGroup(testOperators); err != nil {
		if out, err := exec.Command("groupadd", "--system", testOperators).CombinedOutput(); err != nil {
			return fmt.Errorf("groupadd %s: %v: %s", testOperators, err, out)
		}
	}
	for name, groups := range map[string][]string{testUser: nil, testOperator: {"-G", testOperators}} {
		if _, err := user.Lookup(name); err == nil {
			continue
		}
		args := append([]string{"--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin"}, groups...)
		if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	}
	return nil
})

// lookupTestUser returns the uid and gid of a test account, creating the
// accounts first.
func lookupTestUser(ts *testscript.TestScript, name string) (uid, gid string) {
	if os.Geteuid() != 0 {
		ts.Fatalf("needs root to create test users and run commands as them")
	}
	ts.Check(usersOnce())
	u, err := user.Lookup(name)
	ts.Check(err)
	return u.Uid, u.Gid
}

// publicCopies are the copies of this binary that other users can run,
// by script and name.
var publicCopies sync.Map // publicKey → string

type publicKey struct {
	ts   *testscript.TestScript
	name string
}

// publicBinaryFor copies this test binary, as name (a program of
// TestMain's), to a directory every user may enter, once per script, and
// opens the directory of the script's socket to them.
func publicBinaryFor(ts *testscript.TestScript, name string) string {
	key := publicKey{ts, name}
	if p, ok := publicCopies.Load(key); ok {
		return p.(string)
	}
	exe, err := os.Executable()
	ts.Check(err)
	dir, err := os.MkdirTemp("", "bmsched-pub")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(dir); publicCopies.Delete(key) })
	ts.Check(os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, name)
	src, err := os.Open(exe)
	ts.Check(err)
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	ts.Check(err)
	_, err = io.Copy(dst, src)
	ts.Check(errors.Join(err, dst.Close()))
	ts.Check(os.Chmod(filepath.Dir(ts.Getenv("SOCK")), 0o755))
	publicCopies.Store(key, bin)
	return bin
}

// as USER N bmsched [ARG...]: run bmsched as test user USER (user or op)
// with its groups, and require exit status N; output is kept for stdout
// and stderr checks. Other commands run as USER too (a path, or one found
// in PATH).
func cmdAs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: as user|op N COMMAND [ARG...]")
	}
	name := map[string]string{"user": testUser, "op": testOperator}[args[0]]
	if name == "" {
		ts.Fatalf("as: unknown user %q (user or op)", args[0])
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	uid, gid := lookupTestUser(ts, name)
	prog := args[2]
	if prog == "bmsched" {
		prog = publicBinaryFor(ts, "bmsched")
	}
	err = ts.Exec("setpriv", append([]string{"--reuid=" + uid, "--regid=" + gid, "--init-groups", prog}, args[3:]...)...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("as %s: %v", name, err)
	}
	if got != want {
		ts.Fatalf("%s as %s exited %d, want %d", args[2], name, got, want)
	}
}
