package lease

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// create makes the lease and its snapshot with one commit, in an order
// that leaves Recover a clear answer after a crash at any step:
//
//  1. an id from the block in memory (nextID), the record built;
//  2. the snapshot made and tagged under the temporary .bmsched-lease-N
//     (makeTemp): a crash leaves a temporary no record claims, deleted;
//  3. the record committed active, the temporary recorded (insert): a
//     crash leaves a record whose snapshot is under its temporary, and
//     Recover finishes the rename;
//  4. the snapshot renamed to its final name without replacing anything
//     (place), and the answer.
//
// So a final name with no record only ever means a lost database, and
// is adopted. A name someone made by hand is never touched: its id is
// dropped and the next one taken.
func (s *Scheduler) create(req Request, m db.Machine, image string, owner *ownerWatch) (db.Lease, error) {
	drv, err := s.inv.Driver(req.Volume)
	if err != nil {
		return db.Lease{}, err
	}
	var imageUUID string
	if img := imageOf(m, req.Toolchain); img != nil {
		imageUUID = img.UUID
	}
	for attempt := 0; ; attempt++ {
		id, err := s.nextID()
		if err != nil {
			return db.Lease{}, err
		}
		l := s.newRecord(req, m, id, imageUUID, owner)
		if taken, _ := drv.Exists(l.Path); taken && attempt < maxNameTries {
			// Someone made this name by hand: skip it before paying for
			// a snapshot. The rename still guards the race.
			s.skipped(l)
			continue
		}
		l, retry, err := s.createOne(drv, req, image, l, attempt < maxNameTries)
		if retry {
			continue
		}
		if err != nil {
			return db.Lease{}, err
		}
		s.activate(l, owner)
		return l, nil
	}
}

// skipped records that lease l's id was dropped because its name was
// taken by hand: the one commit such an acquire pays more, so that the
// jump in ids is explained.
func (s *Scheduler) skipped(l db.Lease) {
	err := s.db.AppendEvents(db.Event{Source: "lease", Kind: "lease-abandoned", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
		Message: fmt.Sprintf("lease %d abandoned: %s exists and was not made by bmsched", l.ID, l.Path)})
	if err != nil {
		s.log.Error("record a snapshot name skipped", "lease", l.ID, "err", err)
	}
}

// createOne does steps 2 to 4 of create for the record l; retry asks for
// the next id, l's final name having been taken meanwhile. They run to
// the end even when the client goes away meanwhile (the server then
// abandons the lease, saying why); only the daemon stopping cuts a long
// copy short.
func (s *Scheduler) createOne(drv btrfs.Driver, req Request, image string, l db.Lease, mayRetry bool) (_ db.Lease, retry bool, err error) {
	// Known in memory from here on, so that whatever ends leases (a
	// release, the reaper) leaves it alone until it is placed. Its
	// capacity slot stays with Acquire until then.
	s.mu.Lock()
	s.live[l.ID] = &entry{id: l.ID, key: machineKey(l.Volume, l.Machine), creating: true, temp: l.Temp}
	s.mu.Unlock()
	if err := s.makeTemp(s.bg, drv, image, l); err != nil {
		s.dropTemp(drv, l)
		return l, false, err
	}
	s.cfg.CrashAt.At("acquire-snapshot")
	if err := s.insert(l, req); err != nil {
		// Not committed: the client will not get the path.
		s.dropTemp(drv, l)
		return l, false, err
	}
	s.cfg.CrashAt.At("acquire-commit")
	err = drv.RenameNoReplace(l.Temp, l.Path)
	if errors.Is(err, fs.ErrExist) && mayRetry {
		// Not ours: leave it, drop this id, take the next.
		s.abandon(l, l.Temp, l.Path+" exists and was not made by bmsched")
		return l, true, nil
	}
	if err != nil {
		s.abandon(l, l.Temp, "rename failed: "+err.Error())
		return l, false, fmt.Errorf("place the snapshot of lease %d: %w", l.ID, err)
	}
	// A crash from here on leaves an active lease whose client got no
	// answer: Recover keeps it, since a crash after the answer looks the
	// same, and a client that got a path must keep its lease. Its TTL,
	// its owner or a release ends it.
	s.cfg.CrashAt.At("acquire-rename")
	return l, false, nil
}

// newRecord is the record of lease id for req, active, its snapshot
// under the temporary until it is placed.
func (s *Scheduler) newRecord(req Request, m db.Machine, id uint64, imageUUID string, owner *ownerWatch) db.Lease {
	now := time.Now().UTC()
	snap := snapshotName(m.Name, req.Toolchain, id)
	l := db.Lease{
		ID: id, Volume: req.Volume, Machine: req.Machine, Toolchain: req.Toolchain,
		Snapshot: snap, Path: filepath.Join(m.Dir, snap),
		Temp:    filepath.Join(m.Dir, leaseTemp+strconv.FormatUint(id, 10)),
		State:   db.LeaseActive,
		Created: now, TTL: req.TTL, BootID: s.cfg.BootID,
		Owner:     db.Owner{UID: req.UID, PID: req.OwnerPID, Label: req.Label},
		ImageUUID: imageUUID,
		Tag:       tag{DB: s.db.ID(), ID: id, Boot: s.cfg.BootID}.String(),
	}
	if owner != nil {
		l.Owner.PIDStart = owner.start
	}
	if req.TTL > 0 {
		exp := now.Add(req.TTL)
		l.Expires = &exp
	}
	return l
}

// makeTemp makes lease l's snapshot of image under its temporary, and
// tags it with the lease: the whole step that gives l.Temp its
// snapshot, so that another source of snapshots can take its place.
func (s *Scheduler) makeTemp(ctx context.Context, drv btrfs.Driver, image string, l db.Lease) error {
	// A snapshot the warm pool has ready is as good as one made now, and
	// is tagged and renamed just the same.
	taken := s.cfg.Pool != nil && s.cfg.Pool.Take(l.Volume, l.Machine, l.Toolchain, l.ImageUUID, l.Temp)
	if !taken {
		if err := drv.Snapshot(ctx, image, l.Temp, false); err != nil {
			return fmt.Errorf("snapshot %s for lease %d: %w", image, l.ID, err)
		}
	}
	return drv.WriteTag(l.Temp, l.Tag)
}

// insert commits lease l, with the event of its acquire.
func (s *Scheduler) insert(l db.Lease, req Request) error {
	return s.db.InsertLease(l, db.Event{Source: "lease", Kind: "lease-acquired", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
		Message: fmt.Sprintf("lease %d: %s for uid %d%s", l.ID, l.Snapshot, req.UID, labelSuffix(req.Label))})
}

// activate makes a placed lease live in memory: it takes the slot
// Acquire held, and its owner and expiry are watched.
func (s *Scheduler) activate(l db.Lease, owner *ownerWatch) {
	s.mu.Lock()
	e := s.live[l.ID]
	if e == nil {
		// Nothing drops a lease being created but its acquire; should
		// that change, the lease must still be known.
		e = &entry{id: l.ID, key: machineKey(l.Volume, l.Machine)}
		s.live[l.ID] = e
	}
	e.creating = false
	e.counted = true
	e.owner = owner
	if l.Expires != nil {
		e.expires = *l.Expires
	}
	s.notifyLocked()
	s.mu.Unlock()
	if owner != nil {
		s.watch(e, owner)
	}
	s.wakeReaper()
}

// dropTemp undoes an acquire that committed nothing: it forgets the lease
// and deletes whatever is under its temporary. A crash, or a delete
// that fails, leaves only a temporary no record claims, which Recover
// deletes.
func (s *Scheduler) dropTemp(drv btrfs.Driver, l db.Lease) {
	s.dropCreating(l.ID)
	if err := drv.Delete(s.bg, l.Temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("remove the temporary of a failed acquire; the next start removes it", "path", l.Temp, "err", err)
	}
}

// dropCreating forgets a lease that never became live.
func (s *Scheduler) dropCreating(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.live[id]; e != nil && e.creating {
		delete(s.live, id)
		s.notifyLocked()
	}
}

// abandon undoes a committed lease that was never placed: the record goes
// first, then the snapshot at path (its temporary), so that a crash
// between leaves only a .bmsched-* temporary that Recover removes, never
// a record that would make Recover delete a snapshot someone else made.
func (s *Scheduler) abandon(l db.Lease, path, why string) {
	s.dropCreating(l.ID)
	if err := s.endInDB(l.ID, db.Event{Source: "lease", Kind: "lease-abandoned", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
		Message: fmt.Sprintf("lease %d abandoned: %s", l.ID, why)}); err != nil {
		s.log.Error("abandon lease", "lease", l.ID, "err", err)
		return
	}
	drv, err := s.inv.Driver(l.Volume)
	if err == nil {
		err = drv.Delete(s.bg, path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("remove snapshot of abandoned lease", "path", path, "err", err)
	}
}
