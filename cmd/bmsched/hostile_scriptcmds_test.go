package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// Script commands of the hostile-caller scripts (testdata/script/hostile_*.txtar).
func init() {
	scriptCmds["post"] = cmdPost
	scriptCmds["mutesock"] = cmdMuteSock
	scriptCmds["romount"] = cmdROMount
}

// post URLPATH BODY | post URLPATH -label N: send a raw request to the
// daemon on $SOCK, bypassing the CLI's checks, and print the answer's
// status code and body on stdout. -label N sends an acquire of lin gcc
// whose label is N bytes long.
func cmdPost(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 2 && len(args) != 3) {
		ts.Fatalf("usage: post URLPATH BODY | post URLPATH -label N")
	}
	body := args[1]
	if args[1] == "-label" {
		if len(args) != 3 {
			ts.Fatalf("usage: post URLPATH -label N")
		}
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		body = `{"machine":"lin","toolchain":"gcc","label":"` + strings.Repeat("x", n) + `"}`
	}
	sock := ts.Getenv("SOCK")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Post("http://bmsched"+args[0], "application/json", strings.NewReader(body))
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "status %d\n%s", resp.StatusCode, out)
}

// mutesock PATH: listen on a Unix socket at PATH and never accept: a
// daemon that takes connections and never answers.
func cmdMuteSock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mutesock PATH")
	}
	ln, err := net.Listen("unix", ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(func() { ln.Close() })
}

// romount DIR | romount -undo DIR: bind-mount DIR onto itself read-only,
// as a filesystem remounted read-only after an error looks; it is
// unmounted when the script ends, failing or not.
func cmdROMount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: romount [-undo] DIR")
	}
	if args[0] == "-undo" {
		ts.Check(unix.Unmount(ts.MkAbs(args[1]), 0))
		return
	}
	dir := ts.MkAbs(args[0])
	ts.Check(unix.Mount(dir, dir, "", unix.MS_BIND, ""))
	ts.Defer(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	ts.Check(unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""))
}
