// Package version says which build of bmsched this is. The Makefile sets
// it with -ldflags "-X github.com/bmsched/bmsched/internal/version.version=V
// -X github.com/bmsched/bmsched/internal/version.commit=C"; a plain
// `go build` or `go install` falls back on what the Go toolchain recorded.
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker; empty in a build that did not set them.
var (
	version string
	commit  string
)

// Info is one build's identity, as `bmsched version --json` prints it and
// the daemon reports it.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

// Get returns this binary's version, commit and Go version.
func Get() Info {
	i := Info{Version: version, Commit: commit, Go: runtime.Version()}
	if i.Version != "" && i.Commit != "" {
		// Set by the Makefile: every process of a worker starts without
		// parsing the toolchain's record.
		return i
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return i.orUnknown()
	}
	if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		// go install github.com/bmsched/bmsched/cmd/bmsched@v1.2.3
		i.Version = bi.Main.Version
	}
	if i.Commit == "" {
		i.Commit = vcsCommit(bi.Settings)
	}
	return i.orUnknown()
}

// vcsCommit is the revision that `go build` read from the work tree, with
// "-dirty" when it had changes not committed.
func vcsCommit(settings []debug.BuildSetting) string {
	var rev, dirty string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

func (i Info) orUnknown() Info {
	if i.Version == "" {
		i.Version = "dev"
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}
