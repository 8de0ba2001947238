package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// BootstrapFinish completes a bootstrap: when the command succeeded the
// new image is made read-only and exchanged atomically with the old one,
// which is then deleted (leases running on it keep their own snapshots);
// when it failed the temporary is deleted and the old image kept.
func (o *Ops) BootstrapFinish(id uint64, ok bool, status int, progress Progress) (string, error) {
	op, found, err := o.db.Op(id)
	if err != nil {
		return "", err
	}
	if !found || op.Kind != "bootstrap" {
		return "", errkind.Errorf(errkind.NotFound, "no bootstrap %d under way (the daemon may have restarted and undone it): run bootstrap again", id)
	}
	defer o.lock(op.Volume, op.Machine)()
	if !ok {
		return o.failBootstrap(&op, status, progress)
	}
	final := o.paths(op.Volume, op.Machine).image(op.Toolchain)
	replaced, err := o.installImage(&op, final, progress)
	if err != nil {
		return "", err
	}
	progress.didf(api.OpAction{Action: "install-image", Path: final, Rev: op.Rev}, "installed %s", final)
	msg := fmt.Sprintf("image %s bootstrapped from revision %d", final, op.Rev)
	if replaced {
		msg += " (old image replaced)"
	}
	err = o.db.EndOp(op.ID, o.event(&op, "image-bootstrapped", "%s", msg))
	o.rescan(&op)
	return msg, err
}

// failBootstrap deletes the temporary of a bootstrap whose command
// failed; the old image, if any, stays.
func (o *Ops) failBootstrap(op *db.Op, status int, progress Progress) (string, error) {
	if err := o.removeTemp(op.Volume, op.Temp); err != nil {
		return "", err
	}
	progress.didf(api.OpAction{Action: "delete-snapshot", Path: op.Temp, Rev: op.Rev}, "deleted %s", op.Temp)
	kept := "old image kept"
	if _, err := os.Lstat(o.paths(op.Volume, op.Machine).image(op.Toolchain)); err != nil {
		kept = "no image made"
	}
	msg := fmt.Sprintf("bootstrap of %s/%s %s failed (exit %d): %s", op.Volume, op.Machine, op.Toolchain, status, kept)
	err := o.db.EndOp(op.ID, o.event(op, "bootstrap-failed", "%s", msg))
	o.rescan(op)
	return msg, err
}

// installImage makes the bootstrapped temporary read-only and puts it at
// final: exchanged with the old image, which is then deleted, or renamed
// without replacing anything when there was none. replaced says which.
func (o *Ops) installImage(op *db.Op, final string, progress Progress) (replaced bool, err error) {
	drv, err := o.driver(op.Volume)
	if err != nil {
		return false, err
	}
	if err := drv.SetReadOnly(op.Temp, true); err != nil {
		return false, err
	}
	progress.didf(api.OpAction{Action: "make-readonly", Path: op.Temp, Rev: op.Rev}, "made %s read-only", op.Temp)
	// From here the new image may be in place at any step: its UUID tells
	// recovery whether it is.
	info, err := drv.Info(op.Temp)
	if err != nil {
		return false, err
	}
	op.UUID, op.Step = info.UUID, "exchanging"
	if err := o.db.PutOp(op); err != nil {
		return false, err
	}
	o.cfg.CrashAt.At("bootstrap-readonly")
	if _, err := os.Lstat(final); err != nil {
		return false, renameNoReplace(op.Temp, final)
	}
	// After the exchange the temporary name holds the old image.
	if err := drv.Exchange(op.Temp, final); err != nil {
		return false, err
	}
	o.cfg.CrashAt.At("bootstrap-exchanged")
	if err := drv.Delete(context.Background(), op.Temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, err
	}
	return true, nil
}
