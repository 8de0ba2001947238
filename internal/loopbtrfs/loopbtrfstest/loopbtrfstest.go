// Package loopbtrfstest gives tests a fresh loop-mounted btrfs. It is
// imported only from _test.go files, so that no program links the
// testing package through internal/loopbtrfs.
package loopbtrfstest

import (
	"os"
	"testing"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

// RequireEnv names the environment variable that, set to "1", turns the
// skip of TB into a failure: for CI, where a missing btrfs must not pass
// silently.
const RequireEnv = "BMSCHED_REQUIRE_BTRFS"

// TB mounts a fresh btrfs (loopbtrfs.DefaultSize) under tb.TempDir() and
// returns its mount point, unmounted and detached when the test ends.
// Where loopbtrfs.Available says no, it skips the test, or fails it if
// BMSCHED_REQUIRE_BTRFS=1.
func TB(tb testing.TB) string {
	tb.Helper()
	if err := loopbtrfs.Available(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("%v (and %s=1)", err, RequireEnv)
		}
		tb.Skip(err)
	}
	// TempDir first: cleanups run last-registered first, so the unmount
	// below runs before the temporary directory is removed.
	dir := tb.TempDir()
	mnt, cleanup, err := loopbtrfs.Mount(dir, loopbtrfs.DefaultSize)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := cleanup(); err != nil {
			tb.Error(err)
		}
	})
	return mnt
}
