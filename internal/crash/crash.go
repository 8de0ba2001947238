// Package crash holds the crash points that tests arm to prove that the
// daemon recovers from dying at any step: at an armed point the process
// kills itself with SIGKILL, as a power cut or the OOM killer would, with
// no deferred cleanup.
package crash

import (
	"log/slog"
	"os"
	"syscall"
)

// EnvVar names the crash point to arm; only tests set it.
const EnvVar = "BMSCHED_CRASH_AT"

// Point is the name of the armed crash point, "" for none.
type Point string

// At kills the process if name is the armed point.
func (p Point) At(name string) {
	if p == "" || string(p) != name {
		return
	}
	slog.Warn("crash point reached: killing the daemon", "point", name)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
