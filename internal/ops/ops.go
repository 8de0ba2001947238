// Package ops carries out the Build OS manual's operator procedures (add,
// upgrade, rollback, delete, bootstrap, and the boot-time cleanup) as single
// commands. Each writes a journal record before its first filesystem step
// and advances it after each, so that Recover can finish or undo a command
// that a crash interrupted; none leaves a machine half added or half
// deleted.
package ops

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/keyedlock"
	"github.com/bmsched/bmsched/internal/lease"
)

// Config is the operator part of `bmsched serve`.
type Config struct {
	// Toolchains are the configured toolchains; `gc --boot` deletes images
	// of others. Empty means every toolchain is kept.
	Toolchains []string
	// UID and GID own new revisions unless a command names an owner.
	UID, GID int
	BootID   string
	Log      *slog.Logger
	// CrashAt is a crash point armed by tests.
	CrashAt crash.Point
	// Pool is the warm pool, drained of a machine before its directory
	// is removed; nil for none.
	Pool Pool
}

// Pool is what the operator commands need of the warm pool
// (internal/warm).
type Pool interface {
	// Drain removes every ready snapshot of the machine, after any being
	// made, and fills it no more while it is not active.
	Drain(volume, machine string) error
}

// drainPool empties the warm pool of a machine whose directory is about
// to be removed.
func (o *Ops) drainPool(volume, machine string) error {
	if o.cfg.Pool == nil {
		return nil
	}
	if err := o.cfg.Pool.Drain(volume, machine); err != nil {
		return fmt.Errorf("drain the warm pool of %s/%s: %w", volume, machine, err)
	}
	return nil
}

// Ops runs operator commands against the inventory and the scheduler.
type Ops struct {
	cfg    Config
	db     *db.DB
	inv    *inventory.Inventory
	leases *lease.Scheduler
	log    *slog.Logger

	locks keyedlock.Set[string] // one command per machine at a time
}

// New returns the operator commands.
func New(cfg Config, d *db.DB, inv *inventory.Inventory, ls *lease.Scheduler) *Ops {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Ops{cfg: cfg, db: d, inv: inv, leases: ls, log: cfg.Log}
}

// lock serialises commands on one machine. A command that finds another
// under way on the same machine waits for it: both are short except
// delete, whose wait releases nothing it would need.
func (o *Ops) lock(volume, machine string) func() {
	return o.locks.Lock(volume + "/" + machine)
}

// lockFor is lock for a client's request: a request whose client gave up
// while it waited for the machine is not carried out afterwards.
func (o *Ops) lockFor(ctx context.Context, volume, machine string) (func(), error) {
	unlock := o.lock(volume, machine)
	if err := ctx.Err(); err != nil {
		unlock()
		return nil, errkind.Errorf(errkind.Failed, "%s/%s: the client went away while waiting for another command on the machine; nothing was done", volume, machine)
	}
	if !o.inv.Available(volume) {
		unlock()
		return nil, errkind.Errorf(errkind.Refused, "machine %s/%s: %w", volume, machine, o.inv.UnavailableError(volume))
	}
	return unlock, nil
}

// refuseDeleting refuses a command on a machine that a delete is
// draining, or on a volume whose filesystem is unavailable: what is in
// its directory now is not the machine.
func (o *Ops) refuseDeleting(volume, machine string) error {
	if !o.inv.Available(volume) {
		return errkind.Errorf(errkind.Refused, "machine %s/%s: %w", volume, machine, o.inv.UnavailableError(volume))
	}
	if rec, ok, _ := o.db.Machine(volume, machine); ok && rec.Deleting {
		return errkind.Errorf(errkind.Refused, "machine %s/%s is being deleted (`bmsched events` shows the delete); wait for it, or stop it and bring the machine back with `bmsched upgrade %s --rev N`", volume, machine, machine)
	}
	return nil
}

func (o *Ops) event(op *db.Op, kind, format string, args ...any) db.Event {
	return db.Event{Source: "ops", Kind: kind, Volume: op.Volume, Machine: op.Machine, Message: fmt.Sprintf(format, args...), Time: time.Now().UTC()}
}

// paths of a machine's entries.
type paths struct {
	dir, name string
}

func (o *Ops) paths(volume, machine string) paths {
	return paths{dir: o.inv.MachineDir(volume, machine), name: machine}
}
func (p paths) link() string             { return filepath.Join(p.dir, p.name) }
func (p paths) transient() string        { return filepath.Join(p.dir, fsscan.TransientName(p.name)) }
func (p paths) revision(r uint64) string { return filepath.Join(p.dir, fsscan.RevisionName(p.name, r)) }
func (p paths) image(t string) string    { return filepath.Join(p.dir, fsscan.ImageName(p.name, t)) }
func (p paths) temp(kind string, id uint64) string {
	return filepath.Join(p.dir, fmt.Sprintf("%s%s-%d", fsscan.TempPrefix, kind, id))
}

// driver returns the volume's storage driver.
func (o *Ops) driver(volume string) (btrfs.Driver, error) { return o.inv.Driver(volume) }

// validate checks the names a command was given.
func validate(volume, machine string) error {
	if err := fsscan.ValidVolumeName(volume); err != nil {
		return errkind.Errorf(errkind.Usage, "%w", err)
	}
	if err := fsscan.ValidMachineName(machine); err != nil {
		return errkind.Errorf(errkind.Usage, "%w", err)
	}
	return nil
}

// currentTarget reads the current link's target, "" when there is none.
func currentTarget(p paths) (string, error) {
	t, err := os.Readlink(p.link())
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read current link: %w", err)
	}
	return t, nil
}
