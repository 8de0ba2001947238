package ops

import "github.com/bmsched/bmsched/internal/db"

// endJournal ends a command's journal record, with an event saying where
// the command stopped: the command is over, and no restart finishes or
// undoes it.
func (o *Ops) endJournal(op *db.Op, kind, msg string) error {
	err := o.db.EndOp(op.ID, o.event(op, kind, "%s", msg))
	o.rescan(op)
	return err
}
