package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// buildBmsched builds the bmsched command as the Makefile does, and
// beside it the daemon bmschedd that its serve runs, into a directory
// every user may read.
func buildBmsched(tb testing.TB) string {
	tb.Helper()
	dir := publicDir(tb)
	cmd := exec.Command("go", "build", "-tags", clientTags(tb), "-o", dir+"/", ".", "../bmschedd")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "bmsched")
}
