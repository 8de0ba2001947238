package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Recover makes the leases in the database agree with the host before any
// client is let in: it undoes acquires that a crash interrupted, finishes
// interrupted releases, ends the leases of an earlier boot, of owners that
// exited and of snapshots that vanished, and removes bmsched's own lease
// temporaries that no record claims. It then loads the live leases.
// changed counts the leases it ended and the temporaries it removed.
func (s *Scheduler) Recover() (changed int, err error) {
	leases, err := s.db.Leases()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	var errs []error
	claimed := map[string]bool{} // temporaries of creating leases
	for _, l := range leases {
		if err := s.recoverLease(l, now, claimed); err != nil {
			errs = append(errs, err)
		}
	}
	known := map[uint64]bool{}
	for _, l := range leases {
		known[l.ID] = true
	}
	removed, err := s.removeOrphans(claimed, known)
	if err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	changed = len(leases) - len(s.live) + removed
	s.notifyLocked()
	s.mu.Unlock()
	return changed, errors.Join(errs...)
}

func (s *Scheduler) recoverLease(l db.Lease, now time.Time, claimed map[string]bool) error {
	ev := func(kind, msg string) db.Event {
		return db.Event{Source: "recover", Kind: kind, Volume: l.Volume, Machine: l.Machine, Lease: l.ID, Message: fmt.Sprintf("lease %d: %s", l.ID, msg)}
	}
	drv, err := s.inv.Driver(l.Volume)
	if err != nil {
		return err
	}
	del := func(path string) error {
		if err := drv.Delete(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("recover lease %d: %w", l.ID, err)
		}
		return nil
	}
	switch {
	case l.State == db.LeaseCreating:
		// The client never got the path. The snapshot is either still
		// under the temporary, or was renamed into place, or was never
		// made: then whatever has the final name is someone else's, made
		// by hand, and only the tag tells it from ours.
		claimed[l.Temp] = true
		if _, err := os.Lstat(l.Temp); err == nil {
			if err := del(l.Temp); err != nil {
				return err
			}
		} else if taggedFor(l.Path, l.ID) {
			if err := del(l.Path); err != nil {
				return err
			}
		}
		return s.db.EndLease(l.ID, ev("lease-undone", "acquire interrupted by a crash: undone"))
	case l.State == db.LeaseReleasing:
		if _, err := s.deleteSnapshot(drv, l); err != nil {
			// Kept releasing, and retried while serving.
			s.deleteFailed(l, err)
			return nil
		}
		return s.db.EndLease(l.ID, ev("lease-released", "release interrupted by a crash: finished"))
	case l.BootID != s.cfg.BootID:
		if _, err := s.deleteSnapshot(drv, l); err != nil {
			return err
		}
		return s.db.EndLease(l.ID, ev("lease-reaped", "lease of an earlier boot (its VM died with the host): ended"))
	}
	if _, err := os.Lstat(l.Path); errors.Is(err, fs.ErrNotExist) {
		return s.db.EndLease(l.ID, ev("lease-vanished", "snapshot "+l.Path+" vanished: ended"))
	}
	e := &entry{id: l.ID, key: machineKey(l.Volume, l.Machine), counted: l.State == db.LeaseActive}
	if l.Expires != nil {
		e.expires = *l.Expires
	}
	if l.HoldUntil != nil {
		e.holdUntil = *l.HoldUntil
	}
	if l.State == db.LeaseActive && l.Owner.PID != 0 {
		w, err := watchOwner(l.Owner.PID, l.Owner.PIDStart)
		switch {
		case errors.Is(err, errOwnerGone):
			if _, err := s.deleteSnapshot(drv, l); err != nil {
				return err
			}
			return s.db.EndLease(l.ID, ev("lease-owner-exited", fmt.Sprintf("owner process %d exited while the daemon was down: ended", l.Owner.PID)))
		case err != nil:
			// Cannot tell: keep the lease, unwatched, rather than delete a
			// running build's snapshot; release, expiry or reboot end it.
			s.log.Warn("cannot watch the owner of a lease; it stays until released", "lease", l.ID, "err", err)
		default:
			e.owner = w
		}
	}
	s.mu.Lock()
	s.live[l.ID] = e
	if e.counted {
		s.used[e.key]++
		s.total++
	}
	s.mu.Unlock()
	if e.owner != nil {
		s.watch(e, e.owner)
	}
	return nil // expired and hold-ended leases are left to the reaper
}

// removeOrphans deletes what a crash left of bmsched's own making with no
// record to claim it: .bmsched-lease-N temporaries no creating lease
// claims, half plain copies, and snapshots tagged with the id of a lease
// that no longer exists (an abandoned acquire that dropped its record
// before its snapshot). Nothing else is touched.
func (s *Scheduler) removeOrphans(claimed map[string]bool, known map[uint64]bool) (removed int, err error) {
	ms, err := s.db.Machines()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, m := range ms {
		for _, t := range m.Temps {
			if strings.HasPrefix(t, btrfs.CopyTempPrefix) {
				// A plain-directory copy runs inside one request: after a
				// restart every one left is a crash's half copy.
				if err := os.RemoveAll(filepath.Join(m.Dir, t)); err != nil {
					errs = append(errs, fmt.Errorf("remove interrupted copy: %w", err))
				}
				removed++
				continue
			}
			id, ok := strings.CutPrefix(t, fsscan.TempPrefix+"lease-")
			if !ok {
				continue
			}
			if _, err := strconv.ParseUint(id, 10, 64); err != nil {
				continue
			}
			path := filepath.Join(m.Dir, t)
			if claimed[path] {
				continue
			}
			drv, err := s.inv.Driver(m.Volume)
			if err == nil {
				err = drv.Delete(path)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove orphaned lease temporary: %w", err))
				continue
			}
			removed++
			_ = s.db.AppendEvents(db.Event{Source: "recover", Kind: "temp-removed", Volume: m.Volume, Machine: m.Name, Message: "removed orphaned lease temporary " + t})
		}
		for _, sn := range m.Snapshots {
			path := filepath.Join(m.Dir, sn.Name)
			id, ok := leaseTag(path)
			// A snapshot made by hand of a leased one inherits its tag:
			// only the lease's own name proves it is the lease's.
			if !ok || known[id] || sn.Name != snapshotName(m.Name, sn.Toolchain, id) {
				continue
			}
			drv, err := s.inv.Driver(m.Volume)
			if err == nil {
				err = drv.Delete(path)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove snapshot of ended lease %d: %w", id, err))
				continue
			}
			removed++
			_ = s.db.AppendEvents(db.Event{Source: "recover", Kind: "snapshot-removed", Volume: m.Volume, Machine: m.Name, Lease: id,
				Message: fmt.Sprintf("removed %s, left by lease %d after it ended", sn.Name, id)})
		}
	}
	return removed, errors.Join(errs...)
}
