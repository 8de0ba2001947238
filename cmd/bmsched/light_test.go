package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/lease"
)

// TestClientIsLight: every build worker starts bmsched, so it links
// neither the daemon (internal/server), its metrics (Prometheus) nor the
// database (bbolt); bmschedd does, and bmsched runs it for serve, demo and
// db.
func TestClientIsLight(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, pkg := range []string{".", "../bmschedd"} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		var heavy []string
		for _, d := range deps {
			if strings.HasPrefix(d, "github.com/prometheus/") || strings.HasPrefix(d, "go.etcd.io/bbolt") ||
				d == "github.com/bmsched/bmsched/internal/server" {
				heavy = append(heavy, d)
			}
		}
		switch {
		case pkg == "." && len(heavy) > 0:
			t.Errorf("bmsched links the daemon's dependencies %v: move what needs them to bmschedd (internal/daemoncli)", heavy)
		case pkg != "." && len(heavy) == 0:
			// Else the check above would pass for a list that is wrong.
			t.Errorf("go list -deps %s names none of the daemon's dependencies: the check cannot see them", pkg)
		}
	}
}

// TestMinLeaseDuration: the client refuses what the scheduler would.
func TestMinLeaseDuration(t *testing.T) {
	if api.MinLeaseDuration != lease.MinDuration {
		t.Errorf("api.MinLeaseDuration %s, lease.MinDuration %s: make them equal", api.MinLeaseDuration, lease.MinDuration)
	}
}
