package server

import (
	"net/http"
	"os"
	"sort"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
)

// status answers `bmsched status`: anyone may ask, as anyone may list.
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	c, err := s.takeCensus()
	if err != nil {
		writeErr(w, err)
		return
	}
	st := api.Status{
		Version: s.cfg.Version, PID: os.Getpid(), Machines: s.cfg.Machines, Socket: s.cfg.Socket,
		MetricsListen: s.metricsAddr, BootID: s.cfg.BootID,
		MachineStates: c.machines, ImagesStale: c.stale, LeaseStates: c.leases, Holds: c.holds,
		Database: api.DBStatus{Path: s.cfg.DB, Commits: s.db.Commits()},
	}
	if st.Database.Size, err = s.db.Size(); err != nil {
		s.mon.fail("database", err)
	}
	if s.leases != nil {
		st.Waiting = len(s.leases.Waiting())
	}
	ws := s.watchStats()
	st.Watcher = api.WatcherStatus{Watches: ws.Watches, Events: ws.Events, Overflows: ws.Overflows, Errors: ws.Errors, Unwatched: ws.Unwatched}
	if st.Volumes, err = s.volumeStatus(); err != nil {
		writeErr(w, err)
		return
	}
	s.mon.fill(&st)
	st.Warm = s.warmStatus()
	writeJSON(w, st)
}

// volumeStatus lists the volumes on disk and those known from before,
// each with its state and driver.
func (s *Server) volumeStatus() ([]api.VolumeStatus, error) {
	names, _, err := s.inv.Volumes()
	if err != nil {
		return nil, err
	}
	known, err := s.db.Volumes()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for _, v := range known {
		if !seen[v.Name] {
			names = append(names, v.Name)
		}
	}
	sort.Strings(names)
	out := []api.VolumeStatus{}
	for _, n := range names {
		v := api.VolumeStatus{Name: n, State: db.VolumeAvailable}
		if !s.inv.Available(n) {
			// Its driver would be chosen for whatever is there now, not
			// for the filesystem the volume's records belong to.
			v.State, v.Error = db.VolumeUnavailable, s.inv.UnavailableError(n).Error()
		} else if drv, err := s.inv.Driver(n); err != nil {
			v.Error = err.Error()
		} else {
			v.Driver = drv.Name()
		}
		out = append(out, v)
	}
	return out, nil
}
