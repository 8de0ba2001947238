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
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Add creates a machine: its directory, revision rev from src, then the
// current link last, so that no build sees the machine before it is whole.
func (o *Ops) Add(ctx context.Context, volume, machine string, rev uint64, src Source, owner *Owner, progress Progress) (err error) {
	unlock, exists, err := o.beginPlacing(ctx, volume, machine, rev, src, func() error { return o.checkAdd(volume, machine, src) })
	if err != nil {
		return err
	}
	defer unlock()
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

// checkAdd checks what only add needs: a name new machines may take, a
// source, and the volume's directory.
func (o *Ops) checkAdd(volume, machine string, src Source) error {
	if err := fsscan.ValidNewMachineName(machine); err != nil {
		return errkind.Errorf(errkind.Usage, "%w", err)
	}
	if !src.given() {
		return errkind.Errorf(errkind.Usage, "add needs the revision's content: --receive (a btrfs send stream on stdin) or --from PATH")
	}
	if ok, err := realDirUnder(o.inv.Root, volume); err != nil {
		return err
	} else if !ok {
		return errkind.Errorf(errkind.NotFound, "volume %s: no directory %s (create the volume directory first)", volume, filepath.Join(o.inv.Root, volume))
	}
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
		return o.endJournal(op, "add-stopped", fmt.Sprintf("add of %s/%s stopped with revision %d in place but no current link (%s); fix that, then `bmsched upgrade %s --rev %d`", op.Volume, op.Machine, op.Rev, why, op.Machine, op.Rev))
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
