package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeWithoutDaemon: bmsched installed without bmschedd says where
// it looked, and fails, rather than running anything else.
func TestServeWithoutDaemon(t *testing.T) {
	dir := t.TempDir()
	bin := copyTestBinary(t, dir)
	empty := t.TempDir()
	for _, argv := range [][]string{{"serve", "--machines", dir}, {"db", "check", "--db", filepath.Join(dir, "db")}, {"demo"}} {
		cmd := exec.Command(bin, argv...)
		cmd.Env = []string{"PATH=" + empty}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("bmsched %s without bmschedd: %v, want exit 1\n%s", strings.Join(argv, " "), err, stderr.String())
			continue
		}
		for _, want := range []string{filepath.Join(dir, "bmschedd"), "nor in PATH (" + empty + ")"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("bmsched %s without bmschedd says %q, which does not name %q", strings.Join(argv, " "), stderr.String(), want)
			}
		}
	}
}
