package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/lease"
	"github.com/bmsched/bmsched/internal/ops"
)

// start brings the database up to date with the host before any client is
// let in.
func (s *Server) start() error {
	prev, err := s.noteStart()
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
	s.recoverLeases()
	s.ops = ops.New(ops.Config{
		Toolchains: s.cfg.Toolchains, UID: s.build.UID, GID: s.build.GID, BootID: s.cfg.BootID, Log: s.log,
		CrashAt: crash.Point(s.cfg.CrashAt),
	}, s.db, s.inv, s.leases)
	if err := s.ops.Recover(); err != nil {
		s.recoveryFailed("operator commands", err)
	}
	// A database that has never seen a boot is new, not rebooted: its
	// host may be running builds on snapshots it is about to adopt.
	if s.cfg.GCOnBoot && prev != "" && prev != s.cfg.BootID {
		if _, err := s.gc(true, false, func(f string, a ...any) { s.log.Info("gc --boot: " + fmt.Sprintf(f, a...)) }); err != nil {
			s.log.Warn("gc --boot incomplete", "err", err)
		}
	}
	s.leases.Start()
	s.runWatch()
	return nil
}

// noteStart reads this boot's id (unless configured), records a boot the
// database has not seen and the start itself, and returns the boot id of
// the last start ("" for a new database).
func (s *Server) noteStart() (prev string, err error) {
	if s.cfg.BootID == "" {
		if s.cfg.BootID, err = readBootID(); err != nil {
			return "", err
		}
	}
	boot := s.cfg.BootID
	if err := s.noteFallBack(); err != nil {
		return "", err
	}
	if prev, err = s.db.BootID(); err != nil {
		return "", err
	}
	if prev != boot {
		if err := s.db.SetBootID(boot); err != nil {
			return "", err
		}
		msg := "first start on this database"
		if prev != "" {
			msg = "host rebooted since the last start (boot id " + prev + ")"
		}
		if err := s.db.AppendEvents(db.Event{Source: "serve", Kind: "boot", Message: msg}); err != nil {
			return "", err
		}
	}
	return prev, s.db.AppendEvents(db.Event{Source: "serve", Kind: "started", Message: fmt.Sprintf("daemon started (pid %d) on %s", os.Getpid(), s.cfg.Machines)})
}

// recoverLeases makes the scheduler and finishes or undoes the leases a
// crash interrupted, after the first scan.
func (s *Server) recoverLeases() {
	s.leases = lease.New(lease.Config{
		MaxLeases: s.cfg.MaxLeases, MaxPerMachine: s.cfg.MaxPerMachine, MaxPerUser: s.cfg.MaxPerUser,
		BootID: s.cfg.BootID, CrashAt: crash.Point(s.cfg.CrashAt), Log: s.log, IDs: s.ids, Observer: s.mon,
	}, s.db, s.inv)
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

func readBootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
