package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// Upgrade places revision rev (from src, or already there) and switches
// the current link to it atomically; images of the old revision become
// stale. With prune, revisions that nothing depends on are deleted.
func (o *Ops) Upgrade(ctx context.Context, volume, machine string, rev uint64, src Source, owner *Owner, prune bool, progress Progress) (err error) {
	unlock, exists, err := o.beginPlacing(ctx, volume, machine, rev, src, nil)
	if err != nil {
		return err
	}
	defer unlock()
	p := o.paths(volume, machine)
	if !exists {
		return errkind.Errorf(errkind.NotFound, "no machine %s/%s: no directory %s (use `bmsched add`)", volume, machine, p.dir)
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
		err = o.placeUpgrade(ctx, op, p, src, owner, progress)
	} else {
		err = o.useRevision(op, p)
	}
	if err != nil {
		return err
	}
	if err := o.finishUpgrade(op); err != nil {
		if serr := o.endJournal(op, "upgrade-stopped", fmt.Sprintf("upgrade of %s/%s stopped with revision %d in place, the link not switched (%v); fix that, then run the upgrade again", volume, machine, rev, err)); serr != nil {
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

// placeUpgrade places the upgrade's revision from src, undoing it on
// failure.
func (o *Ops) placeUpgrade(ctx context.Context, op *db.Op, p paths, src Source, owner *Owner, progress Progress) error {
	if err := o.db.PutOp(op); err != nil {
		return err
	}
	if err := o.placeRevision(ctx, op, p, src, owner, progress); err != nil {
		if uerr := o.undoUpgrade(op, err.Error()); uerr != nil {
			return fmt.Errorf("%w (and undoing it: %v)", err, uerr)
		}
		return err
	}
	progress.didf(api.OpAction{Action: "place-revision", Path: p.revision(op.Rev), Rev: op.Rev}, "placed revision %d", op.Rev)
	return nil
}

// useRevision checks that the upgrade's revision is already in place,
// read-only, and journals the upgrade from there.
func (o *Ops) useRevision(op *db.Op, p paths) error {
	volume, machine, rev := op.Volume, op.Machine, op.Rev
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
	return o.db.PutOp(op)
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
