package lease

import (
	"context"
	"fmt"
	"time"

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
// it, once the request has a capacity slot (create says in which order,
// so that a crash at any step is finished or undone by Recover).
func (s *Scheduler) Acquire(ctx context.Context, req Request) (db.Lease, error) {
	if err := validRequest(req); err != nil {
		return db.Lease{}, err
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
		if owner, err = watchOwner(req.OwnerPID, 0); err != nil {
			return db.Lease{}, errkind.Errorf(errkind.NotFound, "--owner-pid %d: %w", req.OwnerPID, err)
		}
	}
	l, err := s.acquireSlot(ctx, req, m, image, owner)
	if err != nil && owner != nil {
		owner.close()
	}
	return l, err
}

// validRequest refuses a request whose names or TTL are out of bounds.
func validRequest(req Request) error {
	if err := checkDuration("--ttl", req.TTL); err != nil {
		return err
	}
	if err := fsscan.ValidNewToolchain(req.Toolchain); err != nil {
		return errkind.Errorf(errkind.Usage, "toolchain: %w", err)
	}
	// A machine made by hand under a longer name than add allows would
	// give a snapshot name too long for the filesystem.
	if err := fsscan.ValidNewMachineName(req.Machine); err != nil {
		return errkind.Errorf(errkind.Usage, "%w; rename the machine", err)
	}
	return nil
}

// acquireSlot waits for a capacity slot, passes the machine's gate and
// creates the lease, giving the slot back if that fails.
func (s *Scheduler) acquireSlot(ctx context.Context, req Request, m db.Machine, image string, owner *ownerWatch) (db.Lease, error) {
	waited, err := s.admit(ctx, req)
	if err != nil {
		return db.Lease{}, err
	}
	key := machineKey(req.Volume, req.Machine)
	freeSlot := func() {
		s.mu.Lock()
		s.freeSlotLocked(key)
		s.mu.Unlock()
	}
	if err := s.enter(key); err != nil {
		freeSlot()
		return db.Lease{}, err
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
	freeSlot()
	return db.Lease{}, err
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
