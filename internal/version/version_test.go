package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGetLinkerValues(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "1.2.3", "abc123"
	got := Get()
	if got.Version != "1.2.3" || got.Commit != "abc123" || got.Go != runtime.Version() {
		t.Errorf("got %+v", got)
	}
}

func TestGetFallback(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "", ""
	got := Get()
	// A test binary has no module version and no VCS stamp.
	if got.Version != "dev" || got.Commit == "" || got.Go != runtime.Version() {
		t.Errorf("got %+v", got)
	}
}

func TestVCSCommit(t *testing.T) {
	s := []debug.BuildSetting{{Key: "vcs.revision", Value: "deadbeef"}, {Key: "vcs.modified", Value: "true"}}
	if got := vcsCommit(s); got != "deadbeef-dirty" {
		t.Errorf("got %q", got)
	}
	if got := vcsCommit(s[:1]); got != "deadbeef" {
		t.Errorf("got %q", got)
	}
	if got := vcsCommit(nil); got != "" {
		t.Errorf("got %q", got)
	}
}
