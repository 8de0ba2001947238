package ops

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// relinked stops a delete whose machine got a valid current link while it
// drained: an operator brought the machine back, and deleting the
// revision the link names would break it. Nothing has been deleted; the
// machine is active again.
func (o *Ops) relinked(op *db.Op, rev uint64) error {
	if err := o.db.SetDeleting(op.Volume, op.Machine, false); err != nil {
		return err
	}
	o.leases.OpenGate(op.Volume, op.Machine)
	msg := fmt.Sprintf("delete of %s/%s stopped: its current link was restored (revision %d) while the delete waited; nothing deleted, the machine is active again", op.Volume, op.Machine, rev)
	if err := o.db.EndOp(op.ID, o.event(op, "delete-stopped", "%s", msg)); err != nil {
		return err
	}
	o.rescan(op)
	return errkind.Errorf(errkind.Refused, "%s (remove the link and run delete again to delete it)", msg)
}

// failedLate ends a delete that failed while removing the machine's
// entries: the journal is closed and the deleting mark cleared, so that the
// machine is retiring rather than stuck deleting until a restart. Running
// delete again resumes; upgrade brings the machine back.
func (o *Ops) failedLate(op *db.Op, cause error) error {
	if err := o.db.SetDeleting(op.Volume, op.Machine, false); err != nil {
		o.log.Error("clear deleting mark", "machine", op.Machine, "err", err)
	}
	o.leases.OpenGate(op.Volume, op.Machine)
	msg := fmt.Sprintf("delete of %s/%s failed while removing its entries: %v; it stays retiring: fix that and run `bmsched delete %s` again to resume, or `bmsched upgrade %s --rev N` to bring it back", op.Volume, op.Machine, cause, op.Machine, op.Machine)
	if err := o.db.EndOp(op.ID, o.event(op, "delete-failed", "%s", msg)); err != nil {
		o.log.Error("close delete journal", "machine", op.Machine, "err", err)
	}
	o.rescan(op)
	return errkind.Errorf(errkind.Failed, "%s", msg)
}
