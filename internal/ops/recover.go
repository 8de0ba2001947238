package ops

import (
	"errors"
	"fmt"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/proc"
)

// Recover finishes or undoes every command that a crash interrupted,
// before the daemon lets clients in:
//   - add and upgrade: a revision not yet in place is undone (its client
//     is gone with its stream); one in place is finished by the link;
//   - delete: stopped, the machine left retiring (its link is already
//     removed); running delete again resumes; one past its wait finishes;
//   - bootstrap: undone, the old image kept, unless its new image was
//     already exchanged into place: then finished.
func (o *Ops) Recover() error {
	ops, err := o.db.Ops()
	if err != nil {
		return err
	}
	var errs []error
	for i := range ops {
		op := &ops[i]
		if !o.inv.Available(op.Volume) {
			// Left as it is until its volume is back and the daemon
			// starts again: nothing of it can be seen to finish or undo.
			errs = append(errs, fmt.Errorf("%s of %s/%s: %w", op.Kind, op.Volume, op.Machine, o.inv.UnavailableError(op.Volume)))
			continue
		}
		if err := o.waitReceive(op); err != nil {
			errs = append(errs, err)
			continue
		}
		var err error
		switch {
		case op.Kind == "add" && (op.Step == "placed" || o.renamedIntoPlace(op)):
			err = o.finishAdd(op)
		case op.Kind == "add":
			err = o.undoAdd(op, "interrupted by a crash")
		case op.Kind == "upgrade" && (op.Step == "placed" || o.renamedIntoPlace(op)):
			err = o.finishUpgrade(op)
		case op.Kind == "upgrade":
			err = o.undoUpgrade(op, "interrupted by a crash")
		case op.Kind == "delete" && op.Step == "removing":
			err = o.finishDelete(op, func(string, ...any) {})
			if errkind.Is(err, errkind.Refused) {
				// Stopped, not failed: a restored link or new entries; its
				// event says so and the journal is closed.
				err = nil
			}
		case op.Kind == "delete":
			o.giveUp(op, "interrupted by a crash")
		case op.Kind == "bootstrap":
			err = o.recoverBootstrap(op)
		default:
			err = fmt.Errorf("unknown command %q in the journal", op.Kind)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("recover %s of %s/%s (op %d): %w", op.Kind, op.Volume, op.Machine, op.ID, err))
		}
	}
	return errors.Join(errs...)
}

// receiveWait bounds the wait for a `btrfs receive` left by the daemon
// before this one: it was sent SIGKILL when that daemon died, so it is
// normally gone at once, but a receive blocked in the kernel ends only
// when the kernel lets it.
const receiveWait = 30 * time.Second

// waitReceive waits for the `btrfs receive` of an interrupted add or
// upgrade to be gone before the command is finished or undone: deciding
// while it still writes into the temporary would race it.
func (o *Ops) waitReceive(op *db.Op) error {
	if op.ReceivePID == 0 || !proc.Alive(op.ReceivePID, op.ReceiveStart) {
		return nil
	}
	o.log.Info("waiting for the btrfs receive of an interrupted command", "op", op.ID, "pid", op.ReceivePID)
	if proc.WaitGone(op.ReceivePID, op.ReceiveStart, receiveWait) {
		return nil
	}
	return fmt.Errorf("recover %s of %s/%s (op %d): its btrfs receive (pid %d) still runs into %s after %s; kill it, then restart the daemon", op.Kind, op.Volume, op.Machine, op.ID, op.ReceivePID, op.Temp, receiveWait)
}
