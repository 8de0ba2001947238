//go:build bmsched_crash

package crash

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// childEnv marks the run of this test binary that reaches the crash point.
const childEnv = "BMSCHED_CRASH_TEST_CHILD"

// TestAtKills: in a tagged build the armed point kills the process with
// SIGKILL, and any other point lets it go on.
func TestAtKills(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		p := Armed()
		p.At("other")
		p.At("p")
		os.Exit(0) // not reached when At kills
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAtKills$")
	cmd.Env = append(os.Environ(), childEnv+"=1", EnvVar+"=p")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child with %s=p: %v, want it killed by SIGKILL", EnvVar, err)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child with %s=p ended %v, want killed by SIGKILL", EnvVar, ee)
	}
}
