package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/db"
)

// A database that the caller may not read is refused with exit 5 (design
// §5), naming the file and what to do; not taken for a damaged one.
func TestDBUnreadableIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the command as another uid")
	}
	bin := publicBinary(t)
	path := filepath.Join(publicDir(t), "bmsched.db")
	d, err := db.Open(path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	// A root the user may lock, so that serve gets as far as the database.
	root := publicDir(t)
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"db", "check", "--db", path},
		{"db", "dump", "--db", path},
		{"serve", "--db", path, "--machines", root, "--socket", filepath.Join(publicDir(t), "s")},
	} {
		code, _, stderr := runAs(t, bin, 65534, args...)
		if code != 5 || !strings.Contains(stderr, path) || !strings.Contains(stderr, "permission denied") ||
			strings.Contains(stderr, "damaged") {
			t.Errorf("%v as uid 65534: exit %d, %q; want exit 5 naming %s and the permission", args, code, stderr, path)
		}
	}
}
