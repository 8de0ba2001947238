package ops

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/db"
)

// recoverBootstrap finishes or undoes a bootstrap a crash interrupted. One
// whose client still runs its command is kept for the client to finish.
// Otherwise a bootstrap not yet exchanged is undone; one whose new image
// is in place is finished by deleting the old one.
func (o *Ops) recoverBootstrap(op *db.Op) error {
	if op.Step == "running" && !clientGone(op) {
		// Its command still runs in the client, which finishes the
		// bootstrap once the daemon is back; if it exits first, the watch
		// undoes it.
		o.watchClient(*op)
		return o.db.AppendEvents(o.event(op, "bootstrap-kept", "bootstrap %d of %s/%s %s kept across the restart: its client (pid %d) still runs it in %s",
			op.ID, op.Volume, op.Machine, op.Toolchain, op.ClientPID, op.Temp))
	}
	drv, err := o.driver(op.Volume)
	if err != nil {
		return err
	}
	placed := false
	if op.UUID != "" {
		info, err := drv.Info(o.paths(op.Volume, op.Machine).image(op.Toolchain))
		placed = err == nil && info.UUID == op.UUID
	}
	if err := o.removeTemp(op.Volume, op.Temp); err != nil {
		return err
	}
	kind, msg := "bootstrap-undone", fmt.Sprintf("bootstrap of %s/%s %s interrupted by a crash: undone, old image kept", op.Volume, op.Machine, op.Toolchain)
	if placed {
		kind, msg = "image-bootstrapped", fmt.Sprintf("bootstrap of %s/%s %s interrupted by a crash after its new image was in place: finished", op.Volume, op.Machine, op.Toolchain)
	}
	return o.endJournal(op, kind, msg)
}
