package main

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/api"
)

func init() {
	scriptCmds["listwait"] = cmdListWait
	scriptCmds["waitgrep"] = cmdWaitGrep
}

// listWaitFor is how long listwait waits: design §7 wants the manual's
// steps reflected within a fraction of a second.
const listWaitFor = time.Second

// listwait PATH [WANT]: wait, up to a second, until `bmsched list --json`
// has WANT at PATH; PATH and WANT are as for the json command. Without
// WANT, until PATH exists. With !, until PATH is missing or (with WANT)
// holds something else. It fails with the last value seen.
//
// It asks the daemon on $SOCK directly rather than running the command, so
// that a check costs milliseconds and the wait can be tight.
func cmdListWait(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: listwait PATH [WANT]")
	}
	if slices.Contains(strings.Split(args[0], "."), "") {
		// What is left of "machines.# 0": a # starts a comment in a
		// script unless quoted, and the check would pass on anything.
		ts.Fatalf("listwait %q: empty path segment; quote a path with # in it ('machines.#')", args[0])
	}
	client := api.NewClient(ts.Getenv("SOCK"))
	start := time.Now()
	deadline := start.Add(listWaitFor)
	var last string
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		var doc any
		err := client.Do(ctx, "GET", "/v1/machines", nil, &doc)
		cancel()
		switch {
		case err != nil:
			last = "error: " + err.Error()
		default:
			got, perr := jsonPath(doc, args[0])
			if perr != nil {
				last = "missing: " + perr.Error()
			} else {
				last = render(got)
			}
			if listWaitMatch(args, got, perr) != neg {
				ts.Logf("listwait %s: %s after %v", args[0], last, time.Since(start).Round(time.Millisecond))
				return
			}
		}
		if time.Now().After(deadline) {
			want := "to exist"
			if len(args) == 2 {
				want = "= " + args[1]
			}
			if neg {
				want = "not " + want
			}
			ts.Fatalf("listwait %s: want %s within %v; last seen: %s", args[0], want, listWaitFor, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listWaitMatch reports whether the value at the path is what is wanted.
func listWaitMatch(args []string, got any, perr error) bool {
	if perr != nil {
		return false
	}
	if len(args) == 1 {
		return true
	}
	gs := render(got)
	if re, isRE := strings.CutPrefix(args[1], "~"); isRE {
		return regexp.MustCompile(re).MatchString(gs)
	}
	return gs == args[1]
}

// waitgrep FILE REGEX: wait, up to 5 seconds, until FILE has a line that
// matches REGEX. It is how a script knows that a background command, such
// as `events --follow` writing to a file, has got as far as it must before
// the script stops it.
func cmdWaitGrep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitgrep FILE REGEX")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if err == nil && re.Match(data) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitgrep: no line of %s matches %q after 5s (%v); it holds:\n%s", args[0], args[1], err, data)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
