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

// lookCheaply brings the record of volume/name up to date with changed
// without reading the directory, when it can: the daemon's own lease
// churn costs nothing (what a scan caught of it is forgotten), and a link
// switched is read by name (Inventory.Relink). It returns false when a
// rescan is needed.
func (s *Server) lookCheaply(volume, name string, changed []string) bool {
	own, forget, links := s.ownChanges(volume, name, changed)
	if !own {
		return false
	}
	if err := s.inv.Forget(volume, name, forget); err != nil {
		s.log.Warn("drop entries gone from a machine's record; the next rescan does", "machine", volume+"/"+name, "err", err)
	}
	if !links {
		return true
	}
	ok, err := s.inv.Relink(volume, name, "watch")
	if err != nil {
		s.log.Warn("read a machine's links; rescanning it instead", "machine", volume+"/"+name, "err", err)
	}
	return ok && err == nil
}

// ownChanges reports whether every entry in changed, of the machine
// directory volume/name, is a change the daemon made itself or one of its
// links, such that a rescan would find nothing but what forget names
// (entries its record shows that are gone, for Inventory.Forget to drop
// without a scan) and, when links is true, the links. Anything it is not
// sure of is not its own: a rescan too many costs a scan, one too few a
// record that lies.
func (s *Server) ownChanges(volume, name string, changed []string) (own bool, forget []string, links bool) {
	if changed == nil {
		return false, nil, false
	}
	m, ok, err := s.db.Machine(volume, name)
	if err != nil || !ok {
		return false, nil, false
	}
	var leases map[string]bool // snapshot names of the machine's leases, read once
	for _, entry := range changed {
		there := exists(filepath.Join(m.Dir, entry))
		switch fsscan.ClassifyName(name, entry).Kind {
		case fsscan.KindCurrent, fsscan.KindTransient:
			links = true
			continue
		case fsscan.KindTemp:
			// bmsched's own, made and gone within an acquire or a
			// release; one a scan caught in passing is forgotten.
		case fsscan.KindSnapshot:
			if leases == nil {
				if leases, err = s.leaseSnapshots(volume, name); err != nil {
					return false, nil, false
				}
			}
			// A lease's snapshot put in place is shown from its lease,
			// and one renamed aside by its release is gone by the
			// daemon's doing. One gone while its lease still wants it
			// there is for the rescan to end. A snapshot that no lease
			// names, there, was made by hand.
			if there != leases[entry] {
				return false, nil, false
			}
		default:
			return false, nil, false // revisions, images, strays: a scan's business
		}
		if !there && recorded(&m, entry) {
			forget = append(forget, entry)
		}
	}
	return true, forget, links
}

// recorded reports whether the record shows entry as a snapshot or a
// temporary.
func recorded(m *db.Machine, entry string) bool {
	return slices.Contains(m.Temps, entry) || slices.ContainsFunc(m.Snapshots, func(sn db.Snapshot) bool { return sn.Name == entry })
}

// exists reports whether path is there; any answer but "does not exist"
// counts as there.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// leaseSnapshots tells, for each snapshot name of a machine's leases,
// whether the snapshot should be there under that name.
func (s *Server) leaseSnapshots(volume, name string) (map[string]bool, error) {
	ls, err := s.db.MachineLeases(volume, name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ls))
	for _, l := range ls {
		// A releasing lease whose snapshot was renamed aside has no
		// snapshot under its name any more, by the daemon's own doing.
		out[l.Snapshot] = l.State != db.LeaseReleasing || l.Aside == ""
	}
	return out, nil
}
