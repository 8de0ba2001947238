package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Script commands of the lease scripts (testdata/script/lease_*.txtar).
func init() {
	scriptCmds["spawn"] = cmdSpawn
	scriptCmds["reap"] = cmdReap
	scriptCmds["deadpid"] = cmdDeadPID
	scriptCmds["waitgone"] = cmdWaitGone
	scriptCmds["waitleases"] = cmdWaitLeases
	scriptCmds["waitqueue"] = cmdWaitQueue
	scriptCmds["waitstuck"] = cmdWaitStuck
	scriptCmds["leasecheck"] = cmdLeaseCheck

	// Under -race every process sleeps a second as it exits, to let late
	// reports out (GORACE atexit_sleep_ms, default 1000): with a daemon
	// stopped and a client run for every step, the scripts would spend
	// most of their time asleep. testscript passes GORACE on.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=10")
	}
}

// owners are the processes that spawn started, by script and name.
var owners = struct {
	sync.Mutex
	m map[*testscript.TestScript]map[string]*exec.Cmd
}{m: map[*testscript.TestScript]map[string]*exec.Cmd{}}

// spawn NAME: start `sleep 60` as a lease owner and set $NAME to its pid.
// It is killed when the script ends, if reap did not.
func cmdSpawn(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: spawn NAME")
	}
	cmd := exec.Command("sleep", "60")
	ts.Check(cmd.Start())
	owners.Lock()
	if owners.m[ts] == nil {
		owners.m[ts] = map[string]*exec.Cmd{}
		ts.Defer(func() {
			owners.Lock()
			defer owners.Unlock()
			for _, c := range owners.m[ts] {
				c.Process.Kill()
				c.Wait()
			}
			delete(owners.m, ts)
		})
	}
	owners.m[ts][args[0]] = cmd
	owners.Unlock()
	ts.Setenv(args[0], strconv.Itoa(cmd.Process.Pid))
}

// reap NAME: kill the process spawn started as NAME and wait for it.
func cmdReap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: reap NAME")
	}
	owners.Lock()
	cmd := owners.m[ts][args[0]]
	delete(owners.m[ts], args[0])
	owners.Unlock()
	if cmd == nil {
		ts.Fatalf("reap: no process %s", args[0])
	}
	ts.Check(cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
}

// deadpid VAR: set $VAR to the pid of a process that has exited.
func cmdDeadPID(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: deadpid VAR")
	}
	cmd := exec.Command("true")
	ts.Check(cmd.Run())
	ts.Setenv(args[0], strconv.Itoa(cmd.Process.Pid))
}

// poll checks cond every 10ms until it holds, failing after timeout.
func poll(ts *testscript.TestScript, timeout string, what func() string, cond func() bool) {
	d, err := time.ParseDuration(timeout)
	ts.Check(err)
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			ts.Fatalf("after %v: %s", d, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Logf("after %v", time.Since(start).Round(time.Millisecond))
}

// waitgone TIMEOUT PATH...: wait until none of the paths exists.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitgone TIMEOUT PATH...")
	}
	var left []string
	poll(ts, args[0], func() string { return strings.Join(left, ", ") + " still there" }, func() bool {
		left = left[:0]
		for _, p := range args[1:] {
			if _, err := os.Lstat(ts.MkAbs(p)); err == nil {
				left = append(left, p)
			}
		}
		return len(left) == 0
	})
}

func scriptLeases(ts *testscript.TestScript) api.Leases {
	var out api.Leases
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts.Check(api.NewClient(ts.Getenv("SOCK")).Do(ctx, "GET", "/v1/leases?waiting=1", nil, &out))
	return out
}

// waitleases TIMEOUT N: wait until the daemon has N leases.
func cmdWaitLeases(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitleases TIMEOUT N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := -1
	poll(ts, args[0], func() string { return strconv.Itoa(got) + " leases, want " + args[1] },
		func() bool { got = len(scriptLeases(ts).Leases); return got == n })
}

// waitstuck TIMEOUT ID: wait until lease ID is releasing and says why its
// snapshot's delete failed: the deleter works after release answers.
func cmdWaitStuck(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitstuck TIMEOUT ID")
	}
	id, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	state := "no lease"
	poll(ts, args[0], func() string { return "lease " + args[1] + ": " + state }, func() bool {
		for _, l := range scriptLeases(ts).Leases {
			if l.ID == id {
				state = l.State + ", last_error " + strconv.Quote(l.LastError)
				return l.State == "releasing" && l.LastError != ""
			}
		}
		return false
	})
}

// waitqueue TIMEOUT N: wait until N requests wait for capacity.
func cmdWaitQueue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitqueue TIMEOUT N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := -1
	poll(ts, args[0], func() string { return strconv.Itoa(got) + " waiting, want " + args[1] },
		func() bool { got = len(scriptLeases(ts).Waiting); return got == n })
}

// leasecheck [KEEP...]: the invariants of design §4 on $VOL, against the
// running daemon: every snapshot-like entry (<m>-<t>-<x>) and every
// bmsched temporary in a machine directory is the path of a lease, or is
// named in KEEP (paths relative to $VOL: what the script made by hand);
// everything in KEEP still exists; every lease past creating has its
// snapshot. A release answers before its snapshot is deleted, so it first
// waits (up to 10s) for the leases releasing to end.
func cmdLeaseCheck(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: leasecheck [KEEP...]")
	}
	vol := ts.Getenv("VOL")
	var ls []api.Lease
	releasing := func() bool {
		ls = scriptLeases(ts).Leases
		for _, l := range ls {
			if l.State == "releasing" {
				return true
			}
		}
		return false
	}
	poll(ts, "10s", func() string { return "leases still releasing" }, func() bool { return !releasing() })
	leased := map[string]bool{}
	for _, l := range ls {
		leased[l.Path] = true
		if l.State != "creating" {
			if _, err := os.Lstat(l.Path); err != nil {
				ts.Fatalf("lease %d (%s) has no snapshot: %v", l.ID, l.State, err)
			}
		}
	}
	keep := map[string]bool{}
	for _, k := range args {
		p := filepath.Join(vol, k)
		keep[p] = true
		if _, err := os.Lstat(p); err != nil {
			ts.Fatalf("%s, made by hand, is gone: %v", k, err)
		}
	}
	machines, err := os.ReadDir(vol)
	ts.Check(err)
	var bad []string
	for _, m := range machines {
		if !m.IsDir() {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(vol, m.Name()))
		ts.Check(err)
		for _, e := range ents {
			p := filepath.Join(vol, m.Name(), e.Name())
			k := fsscan.ClassifyName(m.Name(), e.Name()).Kind
			ours := k == fsscan.KindSnapshot || k == fsscan.KindTemp || strings.Contains(e.Name(), "bmsched")
			if ours && !leased[p] && !keep[p] {
				bad = append(bad, filepath.Join(m.Name(), e.Name()))
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		ts.Fatalf("left behind without a lease: %s", strings.Join(bad, " "))
	}
}
