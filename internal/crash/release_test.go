//go:build !bmsched_crash

package crash

import "testing"

// TestReleaseIgnoresArmedPoint: without the tag, BMSCHED_CRASH_AT arms
// nothing, and a point named as armed returns (a kill would end this test
// binary, failing the run).
func TestReleaseIgnoresArmedPoint(t *testing.T) {
	t.Setenv(EnvVar, "p")
	if Compiled {
		t.Fatal("crash.Compiled in a build without the tag bmsched_crash")
	}
	if got := Armed(); got != "" {
		t.Fatalf("Armed() = %q with %s=p in a release build, want \"\"", got, EnvVar)
	}
	Point("p").At("p")
}
