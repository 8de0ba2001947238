package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/watch"
)

// startWatch watches the machines root, its volumes and machine
// directories. It is called before the first scan, so that whatever
// changes after that scan started raises an event; the changes are acted
// on from runWatch on, once the lease scheduler is up.
func (s *Server) startWatch() error {
	w, err := watch.New(s.cfg.Machines, watch.Config{
		Handler:   watchHandler{s},
		Reconcile: s.cfg.ReconcileEvery,
		Log:       s.log,
	})
	if err != nil {
		return err
	}
	s.watch = w
	return nil
}

// runWatch hands the changes seen since startWatch, and all later ones,
// to the rescans.
func (s *Server) runWatch() {
	if s.watch != nil {
		s.watch.Start()
	}
}

// stopWatch stops the watcher and waits for the rescans under way; it may
// be called more than once.
func (s *Server) stopWatch() {
	if s.watch == nil {
		return
	}
	if err := s.watch.Close(); err != nil {
		s.log.Warn("stop watching the machines root", "err", err)
	}
}

// watchHandler does what the watcher asks: rescan, then end the leases
// whose snapshots the rescan found gone; unless every change it is told
// of is the daemon's own (watch_own.go).
type watchHandler struct{ s *Server }

func (h watchHandler) RescanMachine(volume, name string, changed []string) bool {
	s := h.s
	// Whether the machine is still settling is its last scan's answer
	// either way, so that churn does not cut the look-agains short.
	if !s.lookCheaply(volume, name, changed) {
		if err := s.inv.RescanMachine(volume, name, "watch"); err != nil {
			s.mon.fail("watch", fmt.Errorf("rescan of %s/%s: %w", volume, name, err))
			s.log.Warn("rescan of a changed machine directory failed; the reconcile tries again", "machine", volume+"/"+name, "err", err)
			return false
		}
		s.leases.EndVanished(volume, name)
	}
	m, ok, err := s.db.Machine(volume, name)
	return err == nil && ok && unsettled(m)
}

// unsettled reports a machine with a revision or image that is not
// read-only: the manual makes each read-only as its last step, and that
// raises no event, so the watcher is asked to look again.
func unsettled(m db.Machine) bool {
	for _, r := range m.Revisions {
		if !r.Readonly {
			return true
		}
	}
	for _, im := range m.Images {
		if !im.Readonly {
			return true
		}
	}
	return false
}

func (h watchHandler) RescanAll(reasons []string) {
	s := h.s
	source := "watch"
	if len(reasons) == 1 && reasons[0] == watch.ReasonReconcile {
		source = "reconcile"
	}
	if lost(reasons) {
		// Worth an operator's attention: it recurring means a limit to
		// raise.
		msg := "events may have been lost (" + strings.Join(reasons, ", ") + "): rescanning everything"
		s.mon.fail("watch", errors.New(msg))
		if err := s.db.AppendEvents(db.Event{Source: "watch", Kind: "watch-resync", Message: msg}); err != nil {
			s.log.Warn("record watcher resync", "err", err)
		}
	}
	if err := s.inv.RescanAll(source); err != nil {
		s.log.Warn("full rescan incomplete; the next reconcile tries again", "err", err)
	}
	leases, err := s.db.Leases()
	if err != nil {
		s.log.Warn("list leases after a full rescan", "err", err)
		return
	}
	done := map[string]bool{}
	for _, l := range leases {
		if key := l.Volume + "/" + l.Machine; !done[key] {
			done[key] = true
			s.leases.EndVanished(l.Volume, l.Machine)
		}
	}
}

// lost reports reasons that mean events were, or may have been, missed.
func lost(reasons []string) bool {
	return slices.ContainsFunc(reasons, func(r string) bool {
		return r == watch.ReasonOverflow || r == watch.ReasonWatchError || r == watch.ReasonUnwatched
	})
}
