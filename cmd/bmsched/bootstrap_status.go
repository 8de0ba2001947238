package main

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// commandStatus is the exit status bootstrap passes on for its command's
// end, and how to say it: a command killed by a signal is reported by the
// signal, with the status a shell gives it (128 + the signal's number).
func commandStatus(err error) (status int, how string) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, "succeeded"
	case !errors.As(err, &ee):
		return 1, fmt.Sprintf("could not run: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		return 128 + int(sig), fmt.Sprintf("was killed by signal %s (%s)", unix.SignalName(sig), sig)
	}
	return ee.ExitCode(), fmt.Sprintf("exited with status %d", ee.ExitCode())
}
