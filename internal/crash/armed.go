//go:build bmsched_crash

package crash

import (
	"log/slog"
	"os"
	"syscall"
)

// Compiled says whether this build holds crash points.
const Compiled = true

// Armed is the crash point named by BMSCHED_CRASH_AT, "" for none.
func Armed() Point { return Point(os.Getenv(EnvVar)) }

// At kills the process if name is the armed point.
func (p Point) At(name string) {
	if p == "" || string(p) != name {
		return
	}
	slog.Warn("crash point reached: killing the daemon", "point", name)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
