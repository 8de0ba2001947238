package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/lease"
)

// clientHeavy are what bmsched must not link, and why, as go list
// patterns: a path alone, or with /... its packages below. Every build
// worker starts it twice a lease, so that each dependency's package
// initialisation, and a dynamic loader, is paid twice per build.
var clientHeavy = map[string]string{
	"github.com/prometheus/...":                  "the daemon's metrics",
	"go.etcd.io/bbolt/...":                       "the database",
	"github.com/bmsched/bmsched/internal/server": "the daemon",
	"github.com/fsnotify/fsnotify/...":           "the daemon's watcher",
	"github.com/containerd/btrfs/...":            "the filesystem code, which needs cgo",
	"net/http/...":                               "speak HTTP through internal/unixhttp",
	"crypto/tls":                                 "net/http's, for nothing on a Unix socket",
	"crypto/x509":                                "net/http's, for nothing on a Unix socket",
	"net":                                        "its resolver links cgo: dial with internal/unixhttp",
	"os/user":                                    "it links cgo: look names up with getent",
	"runtime/cgo":                                "a dynamically linked client loads the C library at every start",
	"github.com/russross/blackfriday/...":        "urfave/cli's Markdown, left out with CLIENT_TAGS: write roff (man.go)",
	"github.com/cpuguy83/go-md2man/...":          "urfave/cli's Markdown, left out with CLIENT_TAGS: write roff (man.go)",
}

// docsOnly are the heavy ones that only CLIENT_TAGS leave out: urfave/cli
// imports them whatever bmsched does.
var docsOnly = []string{"github.com/russross/blackfriday", "github.com/cpuguy83/go-md2man"}

// TestClientIsLight: bmsched, built as the Makefile builds it, links
// neither the daemon, its database and metrics, net/http, cgo nor a
// Markdown renderer; bmschedd does link the daemon's, and bmsched runs it
// for serve, demo and db.
func TestClientIsLight(t *testing.T) {
	tags := clientTags(t)
	for _, c := range []struct{ pkg, tags string }{{".", tags}, {".", ""}, {"../bmschedd", ""}} {
		var heavy []string
		for _, d := range goListDeps(t, c.pkg, c.tags) {
			for pattern, why := range clientHeavy {
				if matchPattern(pattern, d) && (c.tags != "" || !isDocsOnly(d)) {
					heavy = append(heavy, d+" ("+why+")")
				}
			}
		}
		switch {
		case c.pkg == "." && len(heavy) > 0:
			t.Errorf("bmsched built with tags %q links %v: move what needs them to bmschedd (internal/daemoncli)", c.tags, heavy)
		case c.pkg != "." && len(heavy) == 0:
			// Else the check above would pass for a list that is wrong.
			t.Errorf("go list -deps %s names none of the daemon's dependencies: the check cannot see them", c.pkg)
		}
	}
}

func matchPattern(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func isDocsOnly(dep string) bool {
	for _, p := range docsOnly {
		if strings.HasPrefix(dep, p) {
			return true
		}
	}
	return false
}

func goListDeps(t *testing.T, pkg, tags string) []string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "list", "-tags", tags, "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -tags %q -deps %s: %v\n%s", tags, pkg, err, out)
	}
	return strings.Fields(string(out))
}

// clientTags are the build tags the Makefile builds bmsched with; the
// test fails if its build line stops using them.
func clientTags(t testing.TB) string {
	t.Helper()
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CLIENT_TAGS = (\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no CLIENT_TAGS: the client's build tags (urfave_cli_no_docs) are lost")
	}
	if !regexp.MustCompile(`(?m)^\t\$\(GO\) build -tags '\$\(CLIENT_TAGS\)' .*-o bin/bmsched `).Match(mk) {
		t.Fatal("the Makefile's build of bin/bmsched does not pass -tags '$(CLIENT_TAGS)'")
	}
	return string(m[1])
}

// TestMinLeaseDuration: the client refuses what the scheduler would.
func TestMinLeaseDuration(t *testing.T) {
	if api.MinLeaseDuration != lease.MinDuration {
		t.Errorf("api.MinLeaseDuration %s, lease.MinDuration %s: make them equal", api.MinLeaseDuration, lease.MinDuration)
	}
}
