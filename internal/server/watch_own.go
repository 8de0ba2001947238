package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// ownChanges reports whether every entry in changed, of the machine
// directory volume/name, is a change the daemon made itself and that its
// record does not need: then a rescan would find nothing worth a commit,
// and lease churn costs none. Anything it is not sure of is not its own:
// a rescan too many costs a scan, one too few a record that lies.
func (s *Server) ownChanges(volume, name string, changed []string) bool {
	if changed == nil {
		return false
	}
	m, ok, err := s.db.Machine(volume, name)
	if err != nil || !ok {
		return false
	}
	var leases map[string]string // lease state by snapshot name, read once
	for _, entry := range changed {
		switch fsscan.ClassifyName(name, entry).Kind {
		case fsscan.KindTemp:
			// A temporary made and gone between two scans was never in
			// the record; one the record shows must be seen to go.
			if slices.Contains(m.Temps, entry) {
				return false
			}
		case fsscan.KindSnapshot:
			if leases == nil {
				if leases, err = s.leaseStates(volume, name); err != nil {
					return false
				}
			}
			if !ownSnapshot(&m, entry, leases) {
				return false
			}
		default:
			return false // links, revisions, images, strays: the record's business
		}
	}
	return true
}

// ownSnapshot reports whether the snapshot entry changed as the daemon's
// own acquires and releases change it. A lease's snapshot put in place
// needs no record (list and show name it from its lease). One gone is the
// daemon's own once its lease has ended, unless the record shows it: a
// lease still there, releasing ones included (a release whose delete
// failed ends when its snapshot goes), is for the rescan to end. A
// snapshot no lease names was made by hand, and is recorded.
func ownSnapshot(m *db.Machine, entry string, leases map[string]string) bool {
	_, leased := leases[entry]
	_, err := os.Lstat(filepath.Join(m.Dir, entry))
	if !errors.Is(err, fs.ErrNotExist) {
		return leased
	}
	recorded := slices.ContainsFunc(m.Snapshots, func(sn db.Snapshot) bool { return sn.Name == entry })
	return !recorded && !leased
}

// leaseStates maps the snapshot names of a machine's leases to their
// states.
func (s *Server) leaseStates(volume, name string) (map[string]string, error) {
	ls, err := s.db.MachineLeases(volume, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ls))
	for _, l := range ls {
		out[l.Snapshot] = l.State
	}
	return out, nil
}
