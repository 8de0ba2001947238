package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/daemoncli"
)

// crashDaemonEnv names the daemon built with the tag bmsched_crash, for
// the runs of this test binary as bmschedd that have a crash point armed.
const crashDaemonEnv = "BMSCHED_TEST_CRASH_DAEMON"

// withCrashDaemon builds the tagged daemon before the tests run and
// removes it after. The build happens in the test process alone: the
// runs of this binary as bmsched or bmschedd never reach Run.
type withCrashDaemon struct{ m *testing.M }

func (w withCrashDaemon) Run() int {
	dir, err := os.MkdirTemp("", "bmsched-crash")
	if err != nil {
		fmt.Fprintf(os.Stderr, "make a directory for the daemon with crash points: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildCrashDaemon(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv(crashDaemonEnv, bin)
	return w.m.Run()
}

// buildCrashDaemon builds bmschedd with its crash points into dir, with
// the race detector when this test binary has it, so that the daemons the
// crash scripts kill are checked as the others are.
func buildCrashDaemon(dir string) (string, error) {
	bin := filepath.Join(dir, "bmschedd")
	args := append([]string{"build", "-tags", "bmsched_crash"}, raceFlags...)
	args = append(args, "-o", bin, "github.com/bmsched/bmsched/cmd/bmschedd")
	// go test puts its own go first in PATH.
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the daemon with crash points (go %v): %v\n%s", args, err, out)
	}
	return bin, nil
}

// runDaemon runs this test binary as bmschedd. A release build ignores
// BMSCHED_CRASH_AT, and so does this binary, built without the tag: when
// a crash point is armed and the tagged daemon was built, it replaces
// this process (an exec keeps the pid the script waits on).
func runDaemon() {
	if bin := os.Getenv(crashDaemonEnv); bin != "" && os.Getenv(crash.EnvVar) != "" {
		err := syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), os.Environ())
		fmt.Fprintf(os.Stderr, "run the daemon with crash points %s: %v\n", bin, err)
		os.Exit(1)
	}
	os.Exit(daemoncli.Run(os.Args, os.Stdout, os.Stderr))
}
