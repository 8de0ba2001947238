package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Add creates a machine: its directory, revision rev from src, then the
// current link last, so that no build sees the machine before it is whole.
func (o *Ops) Add(ctx context.Context, volume, machine string, rev uint64, src Source, owner *Owner, progress Progress) (err error) {
	if err := validate(volume, machine); err != nil {
		return err
	}
	if err := fsscan.ValidNewMachineName(machine); err != nil {
		return errkind.Errorf(errkind.Usage, "%w", err)
	}
	if rev == 0 {
		return errkind.Errorf(errkind.Usage, "--rev: revisions start at 1")
	}
	if !src.given() {
		return errkind.Errorf(errkind.Usage, "add needs the revision's content: --receive (a btrfs send stream on stdin) or --from PATH")
	}
	if ok, err := realDirUnder(o.inv.Root, volume); err != nil {
		return err
	} else if !ok {
		return errkind.Errorf(errkind.NotFound, "volume %s: no directory %s (create the volume directory first)", volume, filepath.Join(o.inv.Root, volume))
	}
	if err := src.check(); err != nil {
		return err
	}
	unlock, err := o.lockFor(ctx, volume, machine)
	if err != nil {
		return err
	}
	defer unlock()
	if err := o.refuseDeleting(volume, machine); err != nil {
		return err
	}
	// Checked under the machine's lock, just before the first step.
	exists, err := o.machineDir(volume, machine)
	if err != nil {
		return err
	}
	p := o.paths(volume, machine)
	if t, err := currentTarget(p); err != nil {
		return err
	} else if t != "" {
		return errkind.Errorf(errkind.Refused, "machine %s/%s already exists (current link -> %s): use `bmsched upgrade`", volume, machine, t)
	}
	op := &db.Op{Kind: "add", Volume: volume, Machine: machine, Rev: rev, Step: "start",
		MadeDir: !exists, Started: time.Now().UTC()}
	if err := o.db.PutOp(op); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if uerr := o.undoAdd(op, err.Error()); uerr != nil {
				err = fmt.Errorf("%w (and undoing it: %v)", err, uerr)
			}
		}
	}()
	if op.MadeDir {
		if err := os.Mkdir(p.dir, 0o755); err != nil {
			return fmt.Errorf("create machine directory: %w", err)
		}
		progress.didf(api.OpAction{Action: "create-dir", Path: p.dir}, "created %s", p.dir)
	}
	if err := o.placeRevision(ctx, op, p, src, owner, progress); err != nil {
		return err
	}
	progress.didf(api.OpAction{Action: "place-revision", Path: p.revision(rev), Rev: rev}, "placed revision %d", rev)
	if err := o.finishAdd(op); err != nil {
		return err
	}
	progress.didf(api.OpAction{Action: "create-link", Path: p.link(), To: api.Rev(rev)}, "current link %s -> %s", p.link(), filepath.Base(p.revision(rev)))
	return nil
}

// finishAdd creates the current link of an added machine, the last step.
func (o *Ops) finishAdd(op *db.Op) error {
	p := o.paths(op.Volume, op.Machine)
	if err := o.sealRevision(op); err != nil {
		return err
	}
	if t, _ := currentTarget(p); t == "" {
		if err := switchLink(p, op.Rev); err != nil {
			return err
		}
	}
	err := o.db.EndOp(op.ID, o.event(op, "machine-added", "machine %s/%s added at revision %d", op.Volume, op.Machine, op.Rev))
	o.rescan(op)
	return err
}

// undoAdd removes what a failed add made. A revision already in place is
// whole and stays, the machine pending: the command ends here, reported,
// so that no later restart finishes it behind the operator's back.
func (o *Ops) undoAdd(op *db.Op, why string) error {
	if op.Step == "placed" {
		return o.stop(op, "add-stopped", fmt.Sprintf("add of %s/%s stopped with revision %d in place but no current link (%s); fix that, then `bmsched upgrade %s --rev %d`", op.Volume, op.Machine, op.Rev, why, op.Machine, op.Rev))
	}
	p := o.paths(op.Volume, op.Machine)
	if err := o.removeTemp(op.Volume, op.Temp); err != nil {
		return err
	}
	if op.MadeDir {
		// Only if empty: anything else in it is not ours.
		if err := os.Remove(p.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove machine directory: %w", err)
		}
	}
	err := o.db.EndOp(op.ID, o.event(op, "add-undone", "add of %s/%s revision %d undone: %s", op.Volume, op.Machine, op.Rev, why))
	o.rescan(op)
	return err
}

// Upgrade places revision rev (from src, or already there) and switches
// the current link to it atomically; images of the old revision become
// stale. With prune, revisions that nothing depends on are deleted.
func (o *Ops) Upgrade(ctx context.Context, volume, machine string, rev uint64, src Source, owner *Owner, prune bool, progress Progress) (err error) {
	if err := validate(volume, machine); err != nil {
		return err
	}
	if rev == 0 {
		return errkind.Errorf(errkind.Usage, "--rev: revisions start at 1")
	}
	if err := src.check(); err != nil {
		return err
	}
	unlock, err := o.lockFor(ctx, volume, machine)
	if err != nil {
		return err
	}
	defer unlock()
	p := o.paths(volume, machine)
	if ok, err := o.machineDir(volume, machine); err != nil {
		return err
	} else if !ok {
		return errkind.Errorf(errkind.NotFound, "no machine %s/%s: no directory %s (use `bmsched add`)", volume, machine, p.dir)
	}
	if err := o.refuseDeleting(volume, machine); err != nil {
		return err
	}
	old, err := currentTarget(p)
	if err != nil {
		return err
	}
	if old == filepath.Base(p.revision(rev)) && !src.given() {
		progress("already at revision %d", rev)
		if prune {
			return o.prune(volume, machine, progress)
		}
		return nil
	}
	op := &db.Op{Kind: "upgrade", Volume: volume, Machine: machine, Rev: rev, Step: "start", OldLink: old, Started: time.Now().UTC()}
	if src.given() {
		if err := o.db.PutOp(op); err != nil {
			return err
		}
		if err := o.placeRevision(ctx, op, p, src, owner, progress); err != nil {
			if uerr := o.undoUpgrade(op, err.Error()); uerr != nil {
				return fmt.Errorf("%w (and undoing it: %v)", err, uerr)
			}
			return err
		}
		progress.didf(api.OpAction{Action: "place-revision", Path: p.revision(rev), Rev: rev}, "placed revision %d", rev)
	} else {
		drv, err := o.driver(volume)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(p.revision(rev)); errors.Is(err, fs.ErrNotExist) {
			return errkind.Errorf(errkind.NotFound, "machine %s/%s has no revision %d (%s): give --receive or --from PATH to add it", volume, machine, rev, p.revision(rev))
		}
		ro, err := drv.ReadOnly(p.revision(rev))
		if err != nil {
			return errkind.Errorf(errkind.Refused, "revision %d of %s/%s: %w (is it a subvolume?)", rev, volume, machine, err)
		}
		if !ro {
			return errkind.Errorf(errkind.Refused, "revision %d of %s/%s is not read-only: finish it first (`btrfs property set -ts %s ro true`)", rev, volume, machine, p.revision(rev))
		}
		op.Step = "placed"
		if err := o.db.PutOp(op); err != nil {
			return err
		}
	}
	if err := o.finishUpgrade(op); err != nil {
		if serr := o.stop(op, "upgrade-stopped", fmt.Sprintf("upgrade of %s/%s stopped with revision %d in place, the link not switched (%v); fix that, then run the upgrade again", volume, machine, rev, err)); serr != nil {
			return fmt.Errorf("%w (and closing its journal: %v)", err, serr)
		}
		return err
	}
	progress.didf(api.OpAction{Action: "switch-link", Path: p.link(), From: fromRev(machine, old), To: api.Rev(rev)},
		"current link %s -> %s", p.link(), filepath.Base(p.revision(rev)))
	if prune {
		return o.prune(volume, machine, progress)
	}
	return nil
}

func (o *Ops) finishUpgrade(op *db.Op) error {
	p := o.paths(op.Volume, op.Machine)
	if err := o.sealRevision(op); err != nil {
		return err
	}
	if err := switchLink(p, op.Rev); err != nil {
		return err
	}
	from := op.OldLink
	if from == "" {
		from = "no revision"
	}
	err := o.db.EndOp(op.ID, o.event(op, "machine-upgraded", "machine %s/%s switched from %s to revision %d", op.Volume, op.Machine, from, op.Rev))
	o.rescan(op)
	return err
}

func (o *Ops) undoUpgrade(op *db.Op, why string) error {
	if err := o.removeTemp(op.Volume, op.Temp); err != nil {
		return err
	}
	err := o.db.EndOp(op.ID, o.event(op, "upgrade-undone", "upgrade of %s/%s to revision %d undone: %s", op.Volume, op.Machine, op.Rev, why))
	o.rescan(op)
	return err
}

// Rollback switches the current link back to the newest revision older
// than the current one.
func (o *Ops) Rollback(volume, machine string, progress Progress) error {
	if err := validate(volume, machine); err != nil {
		return err
	}
	defer o.lock(volume, machine)()
	if _, err := o.machineDir(volume, machine); err != nil {
		return err
	}
	m, err := o.scan(volume, machine)
	if err != nil {
		return err
	}
	if err := o.refuseDeleting(volume, machine); err != nil {
		return err
	}
	if m.Current == 0 {
		return errkind.Errorf(errkind.Refused, "machine %s/%s has no current revision to roll back from", volume, machine)
	}
	var prev uint64
	for _, r := range m.Revisions {
		if r.Rev < m.Current && r.Info.Readonly {
			prev = r.Rev
		}
	}
	if prev == 0 {
		return errkind.Errorf(errkind.Refused, "machine %s/%s has no read-only revision older than %d to roll back to", volume, machine, m.Current)
	}
	p := o.paths(volume, machine)
	if err := switchLink(p, prev); err != nil {
		return err
	}
	op := &db.Op{Volume: volume, Machine: machine}
	if err := o.db.AppendEvents(o.event(op, "machine-rolled-back", "machine %s/%s rolled back from revision %d to %d", volume, machine, m.Current, prev)); err != nil {
		return err
	}
	o.rescan(op)
	progress.didf(api.OpAction{Action: "switch-link", Path: p.link(), From: api.Rev(m.Current), To: api.Rev(prev)},
		"current link %s -> %s", p.link(), filepath.Base(p.revision(prev)))
	return nil
}

// prune deletes revisions older than the current one that no link, image,
// lease or command under way depends on. A lease depends on its image,
// and an image on the revision it was bootstrapped from.
func (o *Ops) prune(volume, machine string, progress Progress) error {
	m, err := o.scan(volume, machine)
	if err != nil {
		return err
	}
	keep := map[uint64]bool{m.Current: true}
	for _, im := range m.Images {
		keep[im.BaseRevision] = true
	}
	ops, err := o.db.Ops()
	if err != nil {
		return err
	}
	for _, op := range ops {
		if op.Volume == volume && op.Machine == machine {
			keep[op.Rev] = true // a bootstrap's base, an upgrade's target
		}
	}
	drv, err := o.driver(volume)
	if err != nil {
		return err
	}
	var revs []uint64
	for _, r := range m.Revisions {
		// Only older ones: a newer revision is staged for an upgrade.
		if !keep[r.Rev] && r.Rev < m.Current {
			revs = append(revs, r.Rev)
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	p := o.paths(volume, machine)
	op := &db.Op{Volume: volume, Machine: machine}
	for _, r := range revs {
		if err := drv.Delete(context.Background(), p.revision(r)); err != nil {
			return err
		}
		progress.didf(api.OpAction{Action: "prune-revision", Path: p.revision(r), Rev: r}, "pruned revision %d", r)
		_ = o.db.AppendEvents(o.event(op, "revision-pruned", "revision %d of %s/%s pruned", r, volume, machine))
	}
	o.rescan(op)
	return nil
}

// scan reads a machine directory now, not from the database.
func (o *Ops) scan(volume, machine string) (fsscan.Machine, error) {
	drv, err := o.driver(volume)
	if err != nil {
		return fsscan.Machine{}, err
	}
	m, err := fsscan.ScanMachine(o.inv.MachineDir(volume, machine), drv)
	if errors.Is(err, fs.ErrNotExist) {
		return m, errkind.Errorf(errkind.NotFound, "no machine %s/%s", volume, machine)
	}
	return m, err
}

// rescan stores the machine as it now is.
func (o *Ops) rescan(op *db.Op) {
	if err := o.inv.RescanMachine(op.Volume, op.Machine, "ops"); err != nil {
		o.log.Warn("rescan after command", "machine", op.Machine, "err", err)
	}
}

// sealRevision makes sure the revision a command placed is read-only: a
// crash may have come between its rename and its last flag change.
func (o *Ops) sealRevision(op *db.Op) error {
	drv, err := o.driver(op.Volume)
	if err != nil {
		return err
	}
	return drv.SetReadOnly(o.paths(op.Volume, op.Machine).revision(op.Rev), true)
}

// stop ends a command's journal with an event saying where it stopped.
func (o *Ops) stop(op *db.Op, kind, msg string) error {
	err := o.db.EndOp(op.ID, o.event(op, kind, "%s", msg))
	o.rescan(op)
	return err
}
