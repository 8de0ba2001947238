// Package crash holds the crash points that tests arm to prove that the
// daemon recovers from dying at any step: at an armed point the process
// kills itself with SIGKILL, as a power cut or the OOM killer would, with
// no deferred cleanup.
//
// Crash points exist only in a build with the tag bmsched_crash, which
// the tests make for themselves (go build -tags bmsched_crash); in any
// other build Armed is always "" and At does nothing, so that no
// environment variable can kill a release daemon.
package crash

// EnvVar names the crash point to arm; only tests set it, and only a
// build tagged bmsched_crash reads it.
const EnvVar = "BMSCHED_CRASH_AT"

// Point is the name of the armed crash point, "" for none.
type Point string
