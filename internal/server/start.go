package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/lease"
	"github.com/bmsched/bmsched/internal/ops"
	"github.com/bmsched/bmsched/internal/rootlock"
	"github.com/bmsched/bmsched/internal/warm"
)

// newLeases makes the warm pool and the lease scheduler, which takes its
// snapshots from the pool when it is on.
func (s *Server) newLeases(boot string) {
	s.pool = warm.New(s.cfg.Warm, s.inv, s.db, s.log)
	var pool lease.Pool // nil unless on: an acquire with the pool off is as it always was
	if s.cfg.Warm.Enabled() {
		pool = s.pool
	}
	s.leases = lease.New(lease.Config{
		MaxLeases: s.cfg.MaxLeases, MaxPerMachine: s.cfg.MaxPerMachine, MaxPerUser: s.cfg.MaxPerUser,
		BootID: boot, CrashAt: crash.Point(s.cfg.CrashAt), Log: s.log, IDs: s.ids, Observer: s.mon,
		Pool: pool,
	}, s.db, s.inv)
}

// start brings the database up to date with the host before any client is
// let in.
func (s *Server) start() error {
	boot, prev, err := s.noteStart()
	if err != nil {
		return err
	}
	// Watched before the first scan, so that whatever changes once the
	// scan has begun raises an event.
	if err := s.startWatch(); err != nil {
		return err
	}
	if err := s.inv.RescanAll("scan"); err != nil {
		// A directory that cannot be read is reported, not fatal: the rest
		// of the host still needs serving.
		s.log.Warn("initial scan incomplete", "err", err)
	}
	s.logStorage()
	s.newLeases(boot)
	// Volumes found replaced by the first scan: their leases end before
	// recovery would take their snapshots for vanished. Volumes seen for
	// the first time were watched as they are just now.
	for _, c := range s.volumes.take() {
		if !c.First {
			s.actOnVolume(c)
		}
	}
	// A record that cannot be finished or undone now (a snapshot busy
	// with a mount, say) stays as it is, to be tried again at the next
	// start; it must not keep every other build on the host waiting.
	changed, err := s.leases.Recover()
	if err != nil {
		s.recoveryFailed("leases", err)
	}
	if changed > 0 {
		// Recovery deleted snapshots: show the machines as they are now.
		if err := s.inv.RescanAll("scan"); err != nil {
			s.log.Warn("rescan after recovery incomplete", "err", err)
		}
	}
	// The pool's leftovers go before anything may fill it; a delete that
	// recovery finishes drains the machine's through the ops hook.
	s.pool.Start()
	s.ops = ops.New(ops.Config{
		Toolchains: s.cfg.Toolchains, UID: s.build.UID, GID: s.build.GID, BootID: boot, Log: s.log,
		CrashAt: crash.Point(s.cfg.CrashAt), Pool: s.pool,
	}, s.db, s.inv, s.leases)
	if err := s.ops.Recover(); err != nil {
		s.recoveryFailed("operator commands", err)
	}
	// A database that has never seen a boot is new, not rebooted: its
	// host may be running builds on snapshots it is about to adopt.
	if s.cfg.GCOnBoot && prev != "" && prev != boot {
		if _, err := s.gc(true, false, func(f string, a ...any) { s.log.Info("gc --boot: " + fmt.Sprintf(f, a...)) }); err != nil {
			s.log.Warn("gc --boot incomplete", "err", err)
		}
	}
	s.leases.StartBackground()
	s.runWatch()
	return nil
}

// noteStart records the daemon's start, and the boot when it is another
// than the database's (prev, "" for a new database).
func (s *Server) noteStart() (boot, prev string, err error) {
	boot = s.cfg.BootID
	if boot == "" {
		if boot, err = readBootID(); err != nil {
			return "", "", err
		}
	}
	s.cfg.BootID = boot
	if err := s.noteFallBack(); err != nil {
		return "", "", err
	}
	if prev, err = s.db.BootID(); err != nil {
		return "", "", err
	}
	if prev != boot {
		if err := s.db.SetBootID(boot); err != nil {
			return "", "", err
		}
		msg := "first start on this database"
		if prev != "" {
			msg = "host rebooted since the last start (boot id " + prev + ")"
		}
		if err := s.db.AppendEvents(db.Event{Source: "serve", Kind: "boot", Message: msg}); err != nil {
			return "", "", err
		}
	}
	msg := fmt.Sprintf("daemon started (pid %d) on %s", os.Getpid(), s.cfg.Machines)
	return boot, prev, s.db.AppendEvents(db.Event{Source: "serve", Kind: "started", Message: msg})
}

// noteFallBack warns of a database that lost its newest commit to a
// damaged meta page, and records it: recovery cannot tell a lease or a
// step that the lost commit recorded from one never made.
func (s *Server) noteFallBack() error {
	fb := s.db.FellBack()
	if fb == "" {
		return nil
	}
	s.log.Warn("database fell back to an earlier commit", "db", s.cfg.DB, "why", fb)
	return s.db.AppendEvents(db.Event{Source: "serve", Kind: "db-fell-back",
		Message: fmt.Sprintf("database %s: %s", s.cfg.DB, fb)})
}

// logStorage says which driver each volume got, and warns of a database
// on btrfs, where every commit costs several times what it does on ext4
// (design §4).
func (s *Server) logStorage() {
	vols, _, _ := s.inv.Volumes()
	for _, v := range vols {
		if drv, err := s.inv.Driver(v); err == nil {
			s.log.Info("volume", "name", v, "driver", drv.Name())
		} else {
			s.log.Warn("volume has no usable storage driver", "name", v, "err", err)
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(s.cfg.DB), &st); err == nil && int64(st.Type) == unix.BTRFS_SUPER_MAGIC {
		s.log.Warn("the database is on btrfs: its commits are slow there; keep it off the machine volume, or mark its directory NOCOW (chattr +C) before creating it", "db", s.cfg.DB)
	}
}

// recoveryFailed reports what recovery could not finish or undo.
func (s *Server) recoveryFailed(what string, err error) {
	s.mon.fail("recovery", fmt.Errorf("recovery of %s: %w", what, err))
	s.log.Error("recovery incomplete: serving anyway; fix the cause and restart the daemon to retry", "of", what, "err", err)
	_ = s.db.AppendEvents(db.Event{Source: "recover", Kind: "recover-failed",
		Message: fmt.Sprintf("recovery of %s incomplete (fix the cause and restart the daemon to retry): %v", what, err)})
}

// takeRoot holds the machines root for this process (rootlock): a second
// daemon, or a rebuild beside a daemon, is refused with exit 5 before it
// touches anything.
func takeRoot(root string) (*rootlock.Lock, error) {
	lock, err := rootlock.Take(root)
	var held *rootlock.HeldError
	switch {
	case errors.As(err, &held):
		return nil, errkind.Errorf(errkind.Refused, "%w", err)
	case errors.Is(err, fs.ErrPermission):
		return nil, errkind.Errorf(errkind.Refused, "%w (the daemon takes a lock in the machines root, so it needs write access there: run it as root, or as the root's owner)", err)
	case err != nil:
		return nil, fmt.Errorf("%w (create the machines root, or pass --machines DIR)", err)
	}
	return lock, nil
}

func readBootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
