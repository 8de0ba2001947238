package server

import (
	"os"
	"os/user"
	"strconv"
	"testing"

	"github.com/bmsched/bmsched/internal/errkind"
)

func TestLookupBuildUser(t *testing.T) {
	for _, tc := range []struct {
		spec     string
		uid, gid int
	}{
		{"root", 0, 0},
		{"root:root", 0, 0},
		{"0:0", 0, 0},
		{"root:65533", 0, 65533},
		{"65533", 65533, 65533}, // a uid with no name
	} {
		b, err := LookupBuildUser(tc.spec)
		if err != nil || b.UID != tc.uid || b.GID != tc.gid {
			t.Errorf("LookupBuildUser(%q) = %d:%d, %v; want %d:%d", tc.spec, b.UID, b.GID, err, tc.uid, tc.gid)
		}
	}
	for _, spec := range []string{"bmsched-no-such-user", "root:bmsched-no-such-group"} {
		_, err := LookupBuildUser(spec)
		if !errkind.Is(err, errkind.Usage) {
			t.Errorf("LookupBuildUser(%q) = %v; want a usage error", spec, err)
		}
	}
	// The default: the manual's build user, else the daemon's own.
	b, err := LookupBuildUser("")
	if err != nil {
		t.Fatal(err)
	}
	if u, lerr := user.Lookup(DefaultBuildUser); lerr == nil {
		if b.Name != DefaultBuildUser || strconv.Itoa(b.UID) != u.Uid {
			t.Errorf("default build user %+v, want %s", b, DefaultBuildUser)
		}
	} else if b.UID != os.Geteuid() || b.GID != os.Getegid() {
		t.Errorf("default build user %d:%d, want the daemon's %d:%d", b.UID, b.GID, os.Geteuid(), os.Getegid())
	}
}
