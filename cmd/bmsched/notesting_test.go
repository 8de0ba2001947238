package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestProgramsLinkNoTesting: test scaffolding stays out of both programs
// (test helpers live in _test.go files or packages only tests import).
func TestProgramsLinkNoTesting(t *testing.T) {
	for _, pkg := range []string{".", "../bmschedd"} {
		// go test puts its own go first in PATH.
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "os") {
			t.Fatalf("go list -deps %s does not name os: the check cannot see the program's packages", pkg)
		}
		if slices.Contains(deps, "testing") {
			t.Errorf("%s links the testing package: find the importer with go list -deps -f '{{.ImportPath}} {{.Imports}}' %s, and move its test helpers to a package only tests import", pkg, pkg)
		}
	}
}
