package server

import (
	"net/http"
	"os"

	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/ops"
)

// trusted is a client that the daemon may act for without limit: root,
// and the daemon's own user, which could do anything the daemon does
// anyway (the demo's in-process daemon, run by a normal user).
func trusted(uid uint32) bool {
	return uid == 0 || int(uid) == os.Geteuid()
}

// checkRevisionRequest refuses what a root daemon must not do for an
// operator who is not trusted: read a --from PATH (the daemon reads it as
// root, so it would copy in what the operator cannot read), or give the
// revision to any owner but the operator or the build user.
func (s *Server) checkRevisionRequest(r *http.Request, src ops.Source, owner *ops.Owner, cmd string) error {
	cred, ok := peer(r)
	if !ok {
		return errkind.Errorf(errkind.Refused, "permission denied: cannot tell who you are")
	}
	if trusted(cred.Uid) {
		return nil
	}
	if owner != nil && !s.mayOwn(cred.Uid, int(cred.Pid), *owner) {
		return errkind.Errorf(errkind.Refused, "permission denied: --owner %d:%d: an operator other than root may give a revision only to itself (uid %d and one of its groups) or to the build user %s (%d:%d, serve --build-user)",
			owner.UID, owner.GID, cred.Uid, s.build.Name, s.build.UID, s.build.GID)
	}
	if src.From != "" {
		return errkind.Errorf(errkind.Refused, "permission denied: --from %s would be read by the daemon as root, so only root may give it; send the subvolume as a stream instead: `btrfs send %s | bmsched %s MACHINE --rev N --receive`",
			src.From, src.From, cmd)
	}
	return nil
}

// mayOwn tells whether a client that is not trusted may name o as owner.
func (s *Server) mayOwn(uid uint32, pid int, o ops.Owner) bool {
	if o.UID == s.build.UID && o.GID == s.build.GID {
		return true
	}
	return o.UID == int(uid) && inGroup(pid, uint32(o.GID))
}
