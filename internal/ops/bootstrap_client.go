package ops

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/proc"
)

// A bootstrap's command runs in its client, so the client is what keeps
// a bootstrap under way: once it is gone (its pid and start time no longer
// name a running process) nobody will ever finish the bootstrap, and its
// temporary would hold up a delete's drain and sit unseen until a restart.

// clientGone reports whether the client running a bootstrap has exited.
func clientGone(op *db.Op) bool { return !proc.Alive(op.ClientPID, op.ClientStart) }

// abandonBootstrap undoes bootstrap id, whose client is gone: its
// temporary is deleted and the old image kept. The caller holds the
// machine's lock. The record is read again under it: a finish that came
// first has ended it, and one past "running" belongs to its finish or to
// recovery.
func (o *Ops) abandonBootstrap(id uint64) (bool, error) {
	op, ok, err := o.db.Op(id)
	if err != nil || !ok || op.Kind != "bootstrap" || op.Step != "running" {
		return false, err
	}
	if err := o.removeTemp(op.Volume, op.Temp); err != nil {
		return false, fmt.Errorf("abandon bootstrap %d of %s/%s %s: %w (remove %s by hand once nothing uses it)", op.ID, op.Volume, op.Machine, op.Toolchain, err, op.Temp)
	}
	err = o.db.EndOp(op.ID, o.event(&op, "bootstrap-abandoned", "bootstrap %d of %s/%s %s abandoned: its client (pid %d) is gone; %s deleted, old image kept",
		op.ID, op.Volume, op.Machine, op.Toolchain, op.ClientPID, op.Temp))
	o.rescan(&op)
	return true, err
}

// watchClient abandons a bootstrap as soon as its client exits without
// finishing it; a client that finishes first leaves nothing to do.
func (o *Ops) watchClient(op db.Op) {
	w, err := proc.Open(op.ClientPID, op.ClientStart)
	if err != nil {
		// Gone already, or it cannot be watched: a delete's drain, gc and
		// the next bootstrap of the image still check the client.
		o.log.Info("bootstrap client not watched", "op", op.ID, "pid", op.ClientPID, "err", err)
		if clientGone(&op) {
			o.abandonLocked(op)
		}
		return
	}
	go func() {
		defer w.Close()
		<-w.Exited()
		o.abandonLocked(op)
	}()
}

func (o *Ops) abandonLocked(op db.Op) {
	defer o.lock(op.Volume, op.Machine)()
	if _, err := o.abandonBootstrap(op.ID); err != nil {
		o.log.Error("abandon bootstrap", "op", op.ID, "err", err)
	}
}

// abandonDead abandons every bootstrap whose client is gone, for gc; with
// dryRun it only says which.
func (o *Ops) abandonDead(dryRun bool) ([]string, error) {
	ops, err := o.db.Ops()
	if err != nil {
		return nil, err
	}
	var acts []string
	for i := range ops {
		op := &ops[i]
		if op.Kind != "bootstrap" || op.Step != "running" || !clientGone(op) {
			continue
		}
		act := fmt.Sprintf("bootstrap %d of %s/%s %s: its client (pid %d) is gone: delete %s", op.ID, op.Volume, op.Machine, op.Toolchain, op.ClientPID, op.Temp)
		if dryRun {
			acts = append(acts, "would abandon "+act)
			continue
		}
		unlock := o.lock(op.Volume, op.Machine)
		done, err := o.abandonBootstrap(op.ID)
		unlock()
		if err != nil {
			return acts, err
		}
		if done {
			acts = append(acts, "abandoned "+act)
		}
	}
	return acts, nil
}
