package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/btrfs"
)

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"subvol":   cmdSubvol,
	"exits":    cmdExits,
	"waitsock": cmdWaitSock,
	"json":     cmdJSON,
}

// driverFor returns the storage driver of the script's machines root.
func driverFor(ts *testscript.TestScript) btrfs.Driver {
	d, err := btrfs.ForPath(ts.Getenv("MACHINES"), ts.Getenv("DRIVER"))
	ts.Check(err)
	return d
}

// subvol create PATH... | subvol snap [-r] SRC DST | subvol ro PATH true|false
//
// Lays out machine directories through the storage driver, so that one
// script serves btrfs and plain directories alike.
func cmdSubvol(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: subvol create PATH... | snap [-r] SRC DST | ro PATH true|false")
	}
	d := driverFor(ts)
	var err error
	switch args[0] {
	case "create":
		for _, p := range args[1:] {
			if err = d.Create(ts.MkAbs(p)); err != nil {
				break
			}
		}
	case "snap":
		ro := false
		a := args[1:]
		if a[0] == "-r" {
			ro, a = true, a[1:]
		}
		if len(a) != 2 {
			ts.Fatalf("usage: subvol snap [-r] SRC DST")
		}
		err = d.Snapshot(context.Background(), ts.MkAbs(a[0]), ts.MkAbs(a[1]), ro)
	case "ro":
		if len(args) != 3 {
			ts.Fatalf("usage: subvol ro PATH true|false")
		}
		var ro bool
		ro, err = strconv.ParseBool(args[2])
		if err == nil {
			err = d.SetReadOnly(ts.MkAbs(args[1]), ro)
		}
	default:
		ts.Fatalf("subvol: unknown verb %q", args[0])
	}
	if neg {
		if err == nil {
			ts.Fatalf("subvol %s succeeded unexpectedly", args[0])
		}
		return
	}
	ts.Check(err)
}

// waitsock [PATH]: wait until a daemon answers on the socket ($SOCK by default).
func cmdWaitSock(ts *testscript.TestScript, neg bool, args []string) {
	sock := ts.Getenv("SOCK")
	if len(args) > 0 {
		sock = args[0]
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			if neg {
				ts.Fatalf("a daemon answers on %s", sock)
			}
			return
		}
		if neg {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no daemon answers on %s after 20s: %v", sock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// json PATH [WANT]: check a value in the JSON on the last command's stdout.
// PATH is dot-separated: a key, an index, key[field=value] to pick the
// array element whose field equals value, or # for a length. WANT is the
// value, a string bare, anything else as compact JSON; ~RE matches a regexp.
// Without WANT, checks that the path exists; with !, that it does not (or
// that the value differs).
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: json PATH [WANT]")
	}
	if strings.HasSuffix(args[0], ".") || strings.Contains(args[0], "..") {
		// An unquoted # starts a comment in a script: write 'a.#'.
		ts.Fatalf("json %s: empty path element (quote a length as 'path.#')", args[0])
	}
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &doc); err != nil {
		ts.Fatalf("stdout is not JSON: %v", err)
	}
	got, err := jsonPath(doc, args[0])
	if len(args) == 1 {
		if (err == nil) == neg {
			ts.Fatalf("json %s: exists=%v, want %v (%v)", args[0], err == nil, !neg, err)
		}
		return
	}
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("json %s: %v", args[0], err)
	}
	gs := render(got)
	want := args[1]
	var ok bool
	if re, isRE := strings.CutPrefix(want, "~"); isRE {
		ok = regexp.MustCompile(re).MatchString(gs)
	} else {
		ok = gs == want
	}
	if ok == neg {
		ts.Fatalf("json %s = %s, want %s%s", args[0], gs, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var selector = regexp.MustCompile(`^([^\[]*)\[([^=\]]+)=([^\]]*)\]$`)

func jsonPath(v any, path string) (any, error) {
	for _, seg := range strings.Split(path, ".") {
		if seg == "#" {
			switch x := v.(type) {
			case []any:
				v = float64(len(x))
			case map[string]any:
				v = float64(len(x))
			default:
				return nil, fmt.Errorf("%s: # of a non-collection", seg)
			}
			continue
		}
		key, field, val := seg, "", ""
		if m := selector.FindStringSubmatch(seg); m != nil {
			key, field, val = m[1], m[2], m[3]
		}
		if key != "" {
			if i, err := strconv.Atoi(key); err == nil {
				arr, ok := v.([]any)
				if !ok || i >= len(arr) {
					return nil, fmt.Errorf("%s: no such element", seg)
				}
				v = arr[i]
			} else {
				obj, ok := v.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: not an object", seg)
				}
				if v, ok = obj[key]; !ok {
					return nil, fmt.Errorf("%s: no such key", seg)
				}
			}
		}
		if field != "" {
			arr, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: not an array", seg)
			}
			var found any
			for _, e := range arr {
				if obj, ok := e.(map[string]any); ok && render(obj[field]) == val {
					found = e
					break
				}
			}
			if found == nil {
				return nil, fmt.Errorf("%s: no element with %s=%s", seg, field, val)
			}
			v = found
		}
	}
	return v, nil
}

// exits N COMMAND [ARG...]: run a command that must exit with status N;
// its output is kept for stdout and stderr checks, as exec keeps it.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N COMMAND [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := exitStatus(ts, ts.Exec(args[1], args[2:]...), args[1])
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// exitStatus is the exit status of a command run by ts.Exec; an error
// that is not an exit status fails the script, naming what.
func exitStatus(ts *testscript.TestScript, err error, what string) int {
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", what, err)
	}
	return 0
}
