package lease

import (
	"errors"
	"path/filepath"

	"github.com/bmsched/bmsched/internal/db"
)

// diskView is what reconcileDisk compares the disk with: the records and
// the id marks as they were before it changed anything.
type diskView struct {
	byID     map[uint64]db.Lease
	byPath   map[string]bool
	kept     map[uint64]bool
	issued   uint64 // every id this database handed out and ended is at or below
	reserved uint64 // the database's counter: ids reserved
	maxID    uint64 // the highest id of a record
}

func (s *Scheduler) readView() (v diskView, err error) {
	ls, err := s.db.Leases()
	if err != nil {
		return v, err
	}
	if v.issued, v.reserved, err = s.db.LeaseIDs(); err != nil {
		return v, err
	}
	if v.kept, err = s.db.Kept(); err != nil {
		return v, err
	}
	v.byID, v.byPath = map[uint64]db.Lease{}, map[string]bool{}
	for _, l := range ls {
		v.byID[l.ID] = l
		v.byPath[l.Path] = true
		v.maxID = max(v.maxID, l.ID)
	}
	return v, nil
}

// reconcileDisk makes what is on disk agree with the lease records, once
// the records are recovered. It removes what a crash left of bmsched's
// own making with no record to claim it (lease temporaries and asides no
// record claims, half plain copies, snapshots of leases this database
// ended), raises the lease counter above every id found on disk, and
// adopts every other tagged snapshot under its final name as an
// orphaned lease: a snapshot of another or a lost database, or with an id
// this database never handed out, may hold a running build, and is never
// taken for a leftover. Nothing else is touched. only, when not "", limits
// it to one volume.
func (s *Scheduler) reconcileDisk(claimed map[string]bool, only string) (removed int, err error) {
	v, err := s.readView()
	if err != nil {
		return 0, err
	}
	ms, err := s.db.Machines()
	if err != nil {
		return 0, err
	}
	var errs []error
	var found []taggedSnapshot
	high := max(v.issued, v.maxID)
	for _, m := range ms {
		if !s.inv.Available(m.Volume) || only != "" && m.Volume != only {
			continue // its record is of a filesystem out of sight, or not asked for
		}
		n, top, err := s.removeTemps(m, claimed)
		removed += n
		high = max(high, top)
		errs = append(errs, err)
		f, top := s.taggedOf(m, v)
		found = append(found, f...)
		high = max(high, top)
	}
	if err := s.raiseCounter(v.reserved, high); err != nil {
		return removed, err
	}
	n, err := s.settleFound(found, v)
	return removed + n, errors.Join(append(errs, err)...)
}

// taggedOf lists a machine's snapshots whose tag bmsched wrote and that
// no record holds; top is the highest id a tag names.
func (s *Scheduler) taggedOf(m db.Machine, v diskView) (found []taggedSnapshot, top uint64) {
	drv, err := s.inv.Driver(m.Volume)
	if err != nil {
		return nil, 0
	}
	for _, sn := range m.Snapshots {
		path := filepath.Join(m.Dir, sn.Name)
		raw, t, ok := readTag(drv, path)
		if !ok {
			continue // not made by bmsched
		}
		// A snapshot made by hand of a leased one inherits its tag: only
		// the lease's own name proves it is the lease's. The name is
		// bmsched's to give; the tag, on a root the build user owns, is
		// not, so only a tag its name agrees with counts.
		if sn.Name != snapshotName(m.Name, sn.Toolchain, t.ID) {
			continue
		}
		top = max(top, t.ID)
		if !v.byPath[path] {
			found = append(found, taggedSnapshot{m: m, sn: sn, path: path, raw: raw, tag: t})
		}
	}
	return found, top
}

// settleFound removes the tagged snapshots of leases this database ended
// and adopts the others.
func (s *Scheduler) settleFound(found []taggedSnapshot, v diskView) (removed int, err error) {
	var errs []error
	reasons := map[string]int{}
	for _, f := range found {
		// Handed out by this database: its id is at or below the issued
		// mark (a restored database's mark is below the ids handed out
		// since its backup, which are adopted).
		mine := f.tag.DB == s.db.ID() && f.tag.ID <= v.issued
		if mine && v.byID[f.tag.ID].ID == 0 && !v.kept[f.tag.ID] {
			// This database ended its lease: an end dropped the record
			// before the snapshot.
			if err := s.removeEnded(f); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
			continue
		}
		if mine && v.byID[f.tag.ID].ID != 0 {
			continue // its id is another snapshot's lease: not this one's
		}
		kind, detail := adoptReason(f.tag, s.db.ID(), v.kept[f.tag.ID])
		if err := s.adopt(f, kind+detail); err != nil {
			errs = append(errs, err)
			continue
		}
		reasons[kind]++
	}
	if err := s.reportAdopted(reasons); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}
