package lease

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Request asks for a snapshot of a machine's toolchain image.
type Request struct {
	Volume     string
	Machine    string
	Toolchain  string
	Wait       time.Duration // how long to wait for capacity; 0 fails at once
	TTL        time.Duration // 0: until released, owner exit or reboot
	OwnerPID   int           // process whose exit ends the lease; 0 for none
	Label      string
	Priority   int
	AllowStale bool
	UID        uint32 // the client, from SO_PEERCRED
}

// Acquire creates a writable snapshot of the image and a durable lease on
// it. The lease is committed before the snapshot exists and made active
// after, so that a crash between leaves a record that Recover undoes.
func (s *Scheduler) Acquire(ctx context.Context, req Request) (db.Lease, error) {
	if err := checkDuration("--ttl", req.TTL); err != nil {
		return db.Lease{}, err
	}
	if err := fsscan.ValidNewToolchain(req.Toolchain); err != nil {
		return db.Lease{}, errkind.Errorf(errkind.Usage, "toolchain: %w", err)
	}
	// A machine made by hand under a longer name than add allows would
	// give a snapshot name too long for the filesystem.
	if err := fsscan.ValidNewMachineName(req.Machine); err != nil {
		return db.Lease{}, errkind.Errorf(errkind.Usage, "%w; rename the machine", err)
	}
	m, image, err := s.check(req)
	if err != nil {
		return db.Lease{}, err
	}
	userDone, userWaited, err := s.reserveUser(ctx, req)
	if err != nil {
		return db.Lease{}, err
	}
	defer userDone()
	// A wait for the user's own place counts against --wait too.
	if userWaited > 0 {
		req.Wait = max(req.Wait-userWaited, time.Millisecond)
	}
	var owner *ownerWatch
	if req.OwnerPID != 0 {
		w, err := watchOwner(req.OwnerPID, 0)
		if err != nil {
			return db.Lease{}, errkind.Errorf(errkind.NotFound, "--owner-pid %d: %w", req.OwnerPID, err)
		}
		owner = w
	}
	fail := func(err error) (db.Lease, error) {
		if owner != nil {
			owner.close()
		}
		return db.Lease{}, err
	}
	waited, err := s.admit(ctx, req)
	if err != nil {
		return fail(err)
	}
	key := machineKey(req.Volume, req.Machine)
	if err := s.enter(key); err != nil {
		s.mu.Lock()
		s.freeSlotLocked(key)
		s.mu.Unlock()
		return fail(err)
	}
	defer s.leave(key)
	if waited {
		// The machine may have changed while the request waited.
		m, image, err = s.check(req)
	}
	if err == nil {
		var l db.Lease
		if l, err = s.create(req, m, image, owner); err == nil {
			return l, nil
		}
	}
	s.mu.Lock()
	s.freeSlotLocked(key)
	s.mu.Unlock()
	return fail(err)
}

// check refuses a request the machine cannot serve, naming the cause and
// the fix. It reads the image from disk: the read-only flag raises no
// event, so the database may not know it yet.
func (s *Scheduler) check(req Request) (db.Machine, string, error) {
	m, ok, err := s.db.Machine(req.Volume, req.Machine)
	if err != nil {
		return m, "", err
	}
	name := req.Volume + "/" + req.Machine
	if !ok {
		return m, "", errkind.Errorf(errkind.NotFound, "no machine %s (`bmsched list` shows the machines)", name)
	}
	if !s.inv.Available(req.Volume) {
		return m, "", errkind.Errorf(errkind.Refused, "machine %s: %w", name, s.inv.UnavailableError(req.Volume))
	}
	if m.State != string(fsscan.Active) {
		why := map[string]string{
			string(fsscan.Pending):  "it has no current link yet (add it, or `ln -s " + m.Name + "-REV " + m.Name + "`)",
			string(fsscan.Retiring): "its current link was removed: it is being retired",
			string(fsscan.Deleting): "`bmsched delete` is draining it",
		}[m.State]
		if why == "" {
			why = "its state is " + m.State
		}
		for _, st := range m.Strays {
			if st.Name == m.Name {
				// There is a link, but not a valid one.
				why = st.Reason + " (fix it: `ln -sfn " + m.Name + "-REV " + m.Name + "`, or `bmsched upgrade " + m.Name + " --rev REV`)"
			}
		}
		return m, "", errkind.Errorf(errkind.Refused, "machine %s is not active: %s", name, why)
	}
	var img *db.Image
	for i := range m.Images {
		if m.Images[i].Toolchain == req.Toolchain {
			img = &m.Images[i]
		}
	}
	if img == nil {
		return m, "", errkind.Errorf(errkind.NotFound, "machine %s has no image for toolchain %s (bootstrap it with `bmsched bootstrap %s %s -- COMMAND`)", name, req.Toolchain, req.Machine, req.Toolchain)
	}
	image := filepath.Join(m.Dir, m.Name+"-"+req.Toolchain)
	drv, err := s.inv.Driver(req.Volume)
	if err != nil {
		return m, "", err
	}
	info, err := drv.Info(image)
	if errors.Is(err, fs.ErrNotExist) {
		return m, "", errkind.Errorf(errkind.NotFound, "image %s is gone from disk", image)
	}
	if err != nil {
		return m, "", err
	}
	if !info.Readonly {
		return m, "", errkind.Errorf(errkind.Refused, "image %s is not read-only: it may still be bootstrapping; when it is done, `btrfs property set -ts %s ro true`", image, image)
	}
	if img.Stale && !req.AllowStale {
		base := "an unknown revision"
		if img.BaseRevision != 0 {
			base = fmt.Sprintf("revision %d", img.BaseRevision)
		}
		return m, "", errkind.Errorf(errkind.Refused, "image %s-%s of %s is stale: bootstrapped from %s, current is revision %d; bootstrap it again, or pass --allow-stale", m.Name, req.Toolchain, name, base, m.Current)
	}
	return m, image, nil
}

// create makes the lease and its snapshot. The snapshot is made under a
// bmsched temporary, tagged with the lease id, and renamed into place
// without replacing anything, so that a snapshot someone made by hand under
// the same name is never touched: then the id is dropped and another taken.
// The tag (tag.go) is how Recover tells, after a crash, a snapshot this
// lease renamed into place from one that was there before, and a
// snapshot of this database from one of a lost or restored database.
func (s *Scheduler) create(req Request, m db.Machine, image string, owner *ownerWatch) (db.Lease, error) {
	drv, err := s.inv.Driver(req.Volume)
	if err != nil {
		return db.Lease{}, err
	}
	key := machineKey(req.Volume, req.Machine)
	var imageUUID string
	for _, im := range m.Images {
		if im.Toolchain == req.Toolchain {
			imageUUID = im.UUID
		}
	}
	for attempt := 0; ; attempt++ {
		now := time.Now().UTC()
		l, err := s.db.CreateLease(func(id uint64) db.Lease {
			snap := snapshotName(m.Name, req.Toolchain, id)
			l := db.Lease{
				Volume: req.Volume, Machine: req.Machine, Toolchain: req.Toolchain,
				Snapshot: snap, Path: filepath.Join(m.Dir, snap),
				Temp:    filepath.Join(m.Dir, fmt.Sprintf(".bmsched-lease-%d", id)),
				State:   db.LeaseCreating,
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
		})
		if err != nil {
			return db.Lease{}, err
		}
		// Known in memory from its intent on, so that whatever ends leases
		// (a release, the reaper) finds it and leaves it alone until it is
		// active. Its capacity slot stays with Acquire until then.
		e := &entry{id: l.ID, key: key, creating: true}
		s.mu.Lock()
		s.live[l.ID] = e
		s.mu.Unlock()
		s.cfg.CrashAt.At("acquire-intent")
		if err := s.coverID(l.ID); err != nil {
			s.abandon(l, "", err.Error())
			return db.Lease{}, err
		}

		if _, err := os.Lstat(l.Path); err == nil && attempt < maxNameTries {
			// Someone made this name by hand: skip it before paying for
			// a snapshot. The rename below still guards the race.
			s.abandon(l, "", l.Path+" exists and was not made by bmsched")
			continue
		}
		if err := s.snapshotTo(drv, req, image, imageUUID, l.Temp); err != nil {
			s.abandon(l, l.Temp, "snapshot failed: "+err.Error())
			return db.Lease{}, fmt.Errorf("snapshot %s: %w", image, err)
		}
		if err := writeTag(l.Temp, l.Tag); err != nil {
			s.abandon(l, l.Temp, "tagging the snapshot failed: "+err.Error())
			return db.Lease{}, err
		}
		s.cfg.CrashAt.At("acquire-snapshot")

		err = unix.Renameat2(unix.AT_FDCWD, l.Temp, unix.AT_FDCWD, l.Path, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EEXIST) && attempt < maxNameTries {
			// Not ours: leave it, drop this id, take the next.
			s.abandon(l, l.Temp, l.Path+" exists and was not made by bmsched")
			continue
		}
		if err != nil {
			s.abandon(l, l.Temp, "rename failed: "+err.Error())
			return db.Lease{}, &os.LinkError{Op: "rename", Old: l.Temp, New: l.Path, Err: err}
		}
		s.cfg.CrashAt.At("acquire-rename")

		active, ok, err := s.db.UpdateLease(l.ID, func(l *db.Lease) {
			l.State = db.LeaseActive
			l.Temp = ""
		}, db.Event{Source: "lease", Kind: "lease-acquired", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
			Message: fmt.Sprintf("lease %d: %s for uid %d%s", l.ID, l.Snapshot, req.UID, labelSuffix(req.Label))})
		if err == nil && !ok {
			err = fmt.Errorf("lease %d was ended while its snapshot was being made", l.ID)
		}
		if err != nil {
			// The outcome could not be committed: the client will not get
			// the path, so the snapshot must go too.
			s.abandon(l, l.Path, "commit failed: "+err.Error())
			return db.Lease{}, err
		}
		l = active
		// A crash from here on leaves an active lease whose client got no
		// answer: Recover keeps it, since a crash after the answer looks
		// the same, and a client that got a path must keep its lease. Its
		// TTL, its owner or a release ends it.
		s.cfg.CrashAt.At("acquire-commit")

		s.mu.Lock()
		e.creating = false
		e.counted = true // the slot Acquire took is the lease's now
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
		return l, nil
	}
}

// abandon undoes a lease that never became active: the record goes first,
// then the snapshot at path (normally the temporary; "" for none), so that
// a crash between leaves only a .bmsched-* temporary that Recover removes,
// never a record that would make Recover delete a snapshot someone else
// made.
func (s *Scheduler) abandon(l db.Lease, path, why string) {
	s.mu.Lock()
	if e := s.live[l.ID]; e != nil && e.creating {
		delete(s.live, l.ID)
		s.notifyLocked()
	}
	s.mu.Unlock()
	if err := s.endInDB(l.ID, db.Event{Source: "lease", Kind: "lease-abandoned", Volume: l.Volume, Machine: l.Machine, Lease: l.ID,
		Message: fmt.Sprintf("lease %d abandoned: %s", l.ID, why)}); err != nil {
		s.log.Error("abandon lease", "lease", l.ID, "err", err)
		return
	}
	if path == "" {
		return
	}
	drv, err := s.inv.Driver(l.Volume)
	if err == nil {
		err = drv.Delete(path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("remove snapshot of abandoned lease", "path", path, "err", err)
	}
}

// maxNameTries bounds the snapshot names an acquire skips because
// someone made them by hand.
const maxNameTries = 100

// snapshotName is the name of lease id's snapshot: <m>-<t>-<id>, the id
// zero-padded to at least three digits.
func snapshotName(machine, toolchain string, id uint64) string {
	return fmt.Sprintf("%s-%s-%03d", machine, toolchain, id)
}

func labelSuffix(label string) string {
	if label == "" {
		return ""
	}
	return " (" + label + ")"
}

// SnapshotName is the name lease id's snapshot gets, so that a name can be
// told from one that no lease of this database was ever given.
func SnapshotName(machine, toolchain string, id uint64) string {
	return snapshotName(machine, toolchain, id)
}
