package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Delete retires a machine as the manual does, without its polling loop:
// the current link goes first (no new builds), then it waits until no
// lease, acquire under way or snapshot made by others remains, woken by
// each release and each rescan, never by a timer; then it deletes images
// and revisions and the directory. timeout 0 waits as long as ctx lets it.
// Giving up leaves the machine retiring; running Delete again resumes.
func (o *Ops) Delete(ctx context.Context, volume, machine string, timeout time.Duration, progress Progress) error {
	if err := validate(volume, machine); err != nil {
		return err
	}
	op, err := o.startDelete(ctx, volume, machine, progress)
	if err != nil {
		return err
	}
	// The drain runs without the machine's lock, so that a long wait
	// stalls no other command: the closed gate and the deleting state keep
	// acquires, upgrades and bootstraps out meanwhile.
	if err := o.drain(ctx, op, timeout, progress); err != nil {
		return err
	}
	defer o.lock(volume, machine)()
	op.Step = "removing"
	if err := o.db.PutOp(op); err != nil {
		return err
	}
	o.cfg.CrashAt.At("delete-removing")
	return o.finishDelete(op, progress)
}

// startDelete checks that the machine can be deleted, journals the
// delete, closes the machine to acquires and removes its current link.
func (o *Ops) startDelete(ctx context.Context, volume, machine string, progress Progress) (*db.Op, error) {
	unlock, err := o.lockFor(ctx, volume, machine)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := o.machineDir(volume, machine); err != nil {
		return nil, err
	}
	m, err := o.scan(volume, machine)
	if err != nil {
		return nil, err
	}
	if len(m.Strays) > 0 {
		names := make([]string, len(m.Strays))
		for i, s := range m.Strays {
			names[i] = s.Name + " (" + s.Reason + ")"
		}
		return nil, errkind.Errorf(errkind.Refused, "machine %s/%s holds entries bmsched did not make and will not delete: %s; move them away, then delete again", volume, machine, strings.Join(names, ", "))
	}
	if rec, ok, _ := o.db.Machine(volume, machine); ok && rec.Deleting {
		return nil, errkind.Errorf(errkind.Refused, "machine %s/%s is already being deleted by another `bmsched delete`", volume, machine)
	}
	p := o.paths(volume, machine)
	old, _ := currentTarget(p)
	op := &db.Op{Kind: "delete", Volume: volume, Machine: machine, Step: "draining", OldLink: old, Started: time.Now().UTC()}
	if err := o.db.PutOp(op); err != nil {
		return nil, err
	}
	o.leases.CloseGate(volume, machine)
	if err := o.db.SetDeleting(volume, machine, true); err != nil {
		o.leases.OpenGate(volume, machine)
		o.db.EndOp(op.ID)
		return nil, err
	}
	if old != "" {
		if err := os.Remove(p.link()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			o.giveUp(op, "removing the current link failed")
			return nil, fmt.Errorf("remove current link: %w", err)
		}
		progress.didf(api.OpAction{Action: "remove-link", Path: p.link(), From: fromRev(machine, old)},
			"removed current link %s -> %s: no new builds", p.link(), old)
	}
	o.cfg.CrashAt.At("delete-link-removed")
	o.rescan(op)
	return op, nil
}

// drain waits until nothing holds the machine.
func (o *Ops) drain(ctx context.Context, op *db.Op, timeout time.Duration, progress Progress) error {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	last := ""
	for {
		// Take the wake-up channels before looking, so that a change
		// between the look and the wait is not missed.
		leasesChanged := o.leases.Changed()
		scanChanged := o.inv.Changed()
		what, err := o.holders(op)
		if err != nil {
			o.giveUp(op, err.Error())
			return err
		}
		if what == "" {
			return nil
		}
		if what != last {
			progress("waiting for %s", what)
			last = what
		}
		select {
		case <-leasesChanged:
		case <-scanChanged:
		case <-expired:
			o.giveUp(op, "timed out")
			return errkind.Errorf(errkind.NoCapacity, "machine %s/%s still in use after %s: %s; it stays retiring (no new builds); run delete again to resume", op.Volume, op.Machine, timeout, what)
		case <-ctx.Done():
			o.giveUp(op, "interrupted")
			return errkind.Errorf(errkind.Failed, "delete of %s/%s interrupted while waiting for %s; it stays retiring; run delete again to resume", op.Volume, op.Machine, what)
		}
	}
}

// holders describes what still holds the machine, "" when nothing does.
func (o *Ops) holders(op *db.Op) (string, error) {
	ids, inflight := o.leases.InUse(op.Volume, op.Machine)
	m, err := o.scan(op.Volume, op.Machine)
	if err != nil {
		return "", err
	}
	leased := map[string]bool{}
	var parts []string
	for _, id := range ids {
		l, ok, err := o.db.Lease(id)
		if err != nil {
			return "", err
		}
		if ok {
			leased[l.Snapshot] = true
			who := fmt.Sprintf("uid %d", l.Owner.UID)
			if l.State == db.LeaseOrphaned {
				who = "orphaned, owner unknown: root or an operator releases it"
			} else if l.Owner.Label != "" {
				who += ", " + l.Owner.Label
			}
			parts = append(parts, fmt.Sprintf("lease %d (%s, %s)", id, l.Snapshot, who))
		}
	}
	if inflight > 0 {
		parts = append(parts, fmt.Sprintf("%d acquires under way", inflight))
	}
	boots, err := o.bootstrapHolders(op)
	if err != nil {
		return "", err
	}
	parts = append(parts, boots...)
	for _, s := range m.Snapshots {
		if !leased[s.Name] {
			parts = append(parts, s.Name+" (no lease: made by hand, or left by a crash; remove it once its build is done)")
		}
	}
	return strings.Join(parts, ", "), nil
}

// bootstrapHolders describes the bootstraps under way on a machine being
// deleted. One whose client is gone will never be finished: it is undone
// rather than waited for.
func (o *Ops) bootstrapHolders(op *db.Op) ([]string, error) {
	ops, err := o.db.Ops()
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, b := range ops {
		if b.Kind != "bootstrap" || b.Volume != op.Volume || b.Machine != op.Machine {
			continue
		}
		if clientGone(&b) {
			unlock := o.lock(b.Volume, b.Machine)
			done, err := o.abandonBootstrap(b.ID)
			unlock()
			if err != nil {
				return nil, err
			}
			if done {
				continue
			}
		}
		parts = append(parts, fmt.Sprintf("bootstrap of %s (op %d, client pid %d, in %s)", b.Toolchain, b.ID, b.ClientPID, filepath.Base(b.Temp)))
	}
	return parts, nil
}

// giveUp ends a delete that stops waiting: the link stays removed, so
// the machine is retiring, and acquires stay refused by its state.
func (o *Ops) giveUp(op *db.Op, why string) {
	if err := o.db.SetDeleting(op.Volume, op.Machine, false); err != nil {
		o.log.Error("clear deleting mark", "machine", op.Machine, "err", err)
	}
	o.leases.OpenGate(op.Volume, op.Machine)
	if err := o.db.EndOp(op.ID, o.event(op, "delete-gave-up", "delete of %s/%s stopped (%s); the machine stays retiring", op.Volume, op.Machine, why)); err != nil {
		o.log.Error("close delete journal", "machine", op.Machine, "err", err)
	}
	o.rescan(op)
}

// finishDelete removes a drained machine's images, revisions, bmsched
// temporaries and transient links, then its directory. A current link
// restored meanwhile stops it with nothing deleted; a step that fails ends
// the delete with the machine retiring, for delete to resume or upgrade
// to bring back.
func (o *Ops) finishDelete(op *db.Op, progress Progress) error {
	drv, err := o.driver(op.Volume)
	if err != nil {
		return err
	}
	m, err := o.scan(op.Volume, op.Machine)
	if err != nil {
		if errkind.Is(err, errkind.NotFound) {
			m = fsscan.Machine{} // already gone: only the journal is left
		} else {
			return err
		}
	}
	if m.State == fsscan.Active && m.Current != 0 {
		return o.relinked(op, m.Current)
	}
	if len(m.Snapshots) > 0 || len(m.Strays) > 0 {
		// Something arrived after the drain: stop rather than delete it.
		o.giveUp(op, "new entries appeared")
		return errkind.Errorf(errkind.Refused, "machine %s/%s gained entries while being deleted (%d snapshots, %d strays); it stays retiring", op.Volume, op.Machine, len(m.Snapshots), len(m.Strays))
	}
	// The machine is deleting, so the pool fills it no more: what it has
	// ready goes now, or the directory could not be removed.
	if err := o.drainPool(op.Volume, op.Machine); err != nil {
		return o.failedLate(op, err)
	}
	if err := o.removeMachine(drv, op.Volume, o.paths(op.Volume, op.Machine), m, progress); err != nil {
		return o.failedLate(op, err)
	}
	o.leases.OpenGate(op.Volume, op.Machine)
	if err := o.db.EndOp(op.ID, o.event(op, "machine-deleted", "machine %s/%s deleted", op.Volume, op.Machine)); err != nil {
		return err
	}
	o.rescan(op)
	return nil
}

// removeMachine deletes what a drained machine directory holds, then the
// directory.
func (o *Ops) removeMachine(drv btrfs.Driver, volume string, p paths, m fsscan.Machine, progress Progress) error {
	for _, im := range m.Images {
		if err := drv.Delete(context.Background(), p.image(im.Toolchain)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		progress.didf(api.OpAction{Action: "delete-image", Path: p.image(im.Toolchain)}, "deleted image %s", im.Name)
		o.cfg.CrashAt.At("delete-image-deleted")
	}
	for _, r := range m.Revisions {
		if err := drv.Delete(context.Background(), p.revision(r.Rev)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		progress.didf(api.OpAction{Action: "delete-revision", Path: p.revision(r.Rev), Rev: r.Rev}, "deleted revision %d", r.Rev)
	}
	for _, t := range m.Temps {
		if err := o.removeTemp(volume, filepath.Join(p.dir, t)); err != nil {
			return err
		}
	}
	for _, t := range m.Transients {
		if err := os.Remove(filepath.Join(p.dir, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(p.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove machine directory: %w", err)
	}
	progress.didf(api.OpAction{Action: "delete-dir", Path: p.dir}, "deleted %s", p.dir)
	return nil
}
