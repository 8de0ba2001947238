//go:build !bmsched_crash

package crash

// Compiled says whether this build holds crash points.
const Compiled = false

// Armed is always "" in a build without the tag bmsched_crash: a release
// daemon ignores BMSCHED_CRASH_AT.
func Armed() Point { return "" }

// At does nothing in a build without the tag bmsched_crash.
func (p Point) At(name string) {}
