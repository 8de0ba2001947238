package server

import (
	"fmt"
	"os"
	"syscall"

	"github.com/bmsched/bmsched/internal/db"
)

// warnUnwritable records a warning when the client that got a lease
// cannot write the root of its snapshot: its build would fail on the
// first write, far from the cause (a revision not given to the build
// user, or a worker run as another user).
func (s *Server) warnUnwritable(l db.Lease, uid uint32, pid int) {
	if uid == 0 {
		return
	}
	fi, err := os.Stat(l.Path)
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || mayWrite(st, uid, pid) {
		return
	}
	msg := fmt.Sprintf("lease %d: uid %d cannot write the root of its snapshot %s (owner %d:%d, mode %04o): give the machine to the builds' user (serve --build-user, or add/upgrade --owner, then bootstrap again), or run the build as uid %d",
		l.ID, uid, l.Path, st.Uid, st.Gid, st.Mode&0o7777, st.Uid)
	s.log.Warn("lease not writable by its client", "lease", l.ID, "uid", uid, "path", l.Path)
	if err := s.db.AppendEvents(db.Event{Source: "lease", Kind: "lease-unwritable", Volume: l.Volume, Machine: l.Machine, Lease: l.ID, Message: msg}); err != nil {
		s.log.Warn("record event", "err", err)
	}
}

// mayWrite applies the permission bits as the kernel would for uid and
// the groups of process pid (ACLs aside).
func mayWrite(st *syscall.Stat_t, uid uint32, pid int) bool {
	switch {
	case st.Uid == uid:
		return st.Mode&0o200 != 0
	case inGroup(pid, st.Gid):
		return st.Mode&0o020 != 0
	}
	return st.Mode&0o002 != 0
}
