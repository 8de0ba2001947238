package server

import (
	"sort"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Every state a lease or a machine can be in: counts by state list each,
// zero or not, so that a metric series or a status field does not vanish
// when its count drops to zero.
var (
	leaseStates   = []string{db.LeaseCreating, db.LeaseActive, db.LeaseHeld, db.LeaseReleasing, db.LeaseOrphaned}
	machineStates = []string{string(fsscan.Active), string(fsscan.Pending), string(fsscan.Retiring),
		string(fsscan.Deleting), string(fsscan.Unavailable)}
)

// census is what the database holds now, counted for status and metrics.
type census struct {
	leases   map[string]int
	machines map[string]int
	stale    int // toolchain images built from a revision no longer current
	holds    []api.Hold
}

// takeCensus reads every machine and lease record: a scrape every few
// seconds costs a read transaction, never a commit.
func (s *Server) takeCensus() (census, error) {
	c := census{leases: zeroes(leaseStates), machines: zeroes(machineStates), holds: []api.Hold{}}
	ms, err := s.db.Machines()
	if err != nil {
		return c, err
	}
	for _, m := range ms {
		c.machines[m.State]++
		for _, im := range m.Images {
			if im.Stale {
				c.stale++
			}
		}
	}
	ls, err := s.db.Leases()
	if err != nil {
		return c, err
	}
	for _, l := range ls {
		c.leases[l.State]++
		if l.State == db.LeaseHeld {
			c.holds = append(c.holds, api.Hold{Lease: l.ID, Machine: l.Volume + "/" + l.Machine, Path: l.Path, Until: l.HoldUntil})
		}
	}
	sort.Slice(c.holds, func(i, j int) bool { return c.holds[i].Lease < c.holds[j].Lease })
	return c, nil
}

func zeroes(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}
