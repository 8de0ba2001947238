package server

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/bmsched/bmsched/internal/errkind"
)

// DefaultBuildUser is the user the Build OS manual gives every machine
// subvolume to: it runs bbot, whose builds write in their snapshots.
const DefaultBuildUser = "build"

// BuildUser owns what add, upgrade and bootstrap make unless a command
// names another owner (serve --build-user).
type BuildUser struct {
	Name     string // as given or found, for messages
	UID, GID int
}

// LookupBuildUser resolves serve --build-user USER[:GROUP], names or
// numbers; without GROUP, the user's primary group. "" means `build`
// when that user exists, else the daemon's own user, so that a daemon
// run by a normal user (the demo) can give what it makes to itself.
func LookupBuildUser(spec string) (BuildUser, error) {
	if spec == "" {
		if _, err := user.Lookup(DefaultBuildUser); err == nil {
			spec = DefaultBuildUser
		} else {
			return BuildUser{Name: fmt.Sprintf("uid %d", os.Geteuid()), UID: os.Geteuid(), GID: os.Getegid()}, nil
		}
	}
	un, gn, hasGroup := strings.Cut(spec, ":")
	b := BuildUser{Name: spec}
	var err error
	if b.UID, b.GID, err = lookupUser(un); err != nil {
		return b, errkind.Errorf(errkind.Usage, "--build-user %s: %w (create the user, or name another)", spec, err)
	}
	if hasGroup {
		if b.GID, err = lookupGroup(gn); err != nil {
			return b, errkind.Errorf(errkind.Usage, "--build-user %s: %w (create the group, or name another)", spec, err)
		}
	}
	return b, nil
}

// lookupUser finds a user's uid and primary gid by name; a number that
// names no user is taken as a uid with the gid of the same number.
func lookupUser(s string) (uid, gid int, err error) {
	if n, nerr := strconv.Atoi(s); nerr == nil && n >= 0 {
		if u, err := user.LookupId(s); err == nil {
			gid, _ = strconv.Atoi(u.Gid)
			return n, gid, nil
		}
		return n, n, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

func lookupGroup(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}
