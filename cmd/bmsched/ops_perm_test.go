package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/server"
)

// Operator commands need root or the group named at serve --operators;
// the daemon checks the client's groups, not only its primary one.
func TestOperatorPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run clients as other uids")
	}
	grp, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skipf("no group nogroup to name as operators: %v", err)
	}
	gid, _ := strconv.Atoi(grp.Gid)
	const member, outsider = 65534, 65533 // runAs gives each the gid of its uid

	for _, operators := range []string{"", "nogroup"} {
		t.Run("operators="+operators, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "machines")
			if err := os.MkdirAll(filepath.Join(root, "default"), 0o755); err != nil {
				t.Fatal(err)
			}
			sock := servePublic(t, server.Config{Machines: root, Operators: operators, OperatorsGID: gid})
			bin := publicBinary(t)
			run := func(uid uint32, args ...string) (int, string) {
				code, _, stderr := runAs(t, bin, uid, append([]string{"--socket", sock}, args...)...)
				return code, stderr
			}
			for _, args := range [][]string{
				{"gc", "--dry-run"},
				{"delete", "nosuch"},
				{"add", "m", "--rev", "1", "--from", "/nonexistent"},
				{"bootstrap", "nosuch", "gcc", "--", "true"},
			} {
				code, stderr := run(outsider, args...)
				if code != 5 || !strings.Contains(stderr, "permission denied: operator commands need root") {
					t.Errorf("uid %d: bmsched %s: exit %d, %q; want exit 5, permission denied", outsider, strings.Join(args, " "), code, stderr)
				}
			}
			code, stderr := run(member, "gc", "--dry-run")
			if want := map[string]int{"": 5, "nogroup": 0}[operators]; code != want {
				t.Errorf("uid %d in group %s: gc --dry-run exit %d (%q), want %d", member, grp.Name, code, stderr, want)
			}
			if code, stderr := run(0, "gc", "--dry-run"); code != 0 {
				t.Errorf("root: gc --dry-run exit %d (%q)", code, stderr)
			}
			// Reading stays open to everyone.
			if code, stderr := run(outsider, "list"); code != 0 {
				t.Errorf("uid %d: list exit %d (%q)", outsider, code, stderr)
			}
		})
	}
}
