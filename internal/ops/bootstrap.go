package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/proc"
)

// BootstrapStart snapshots the current revision to a bmsched temporary
// for the client (clientPID) to bootstrap toolchain in.
func (o *Ops) BootstrapStart(volume, machine, toolchain string, clientPID int) (api.Bootstrap, error) {
	if err := validate(volume, machine); err != nil {
		return api.Bootstrap{}, err
	}
	if err := fsscan.ValidNewToolchain(toolchain); err != nil {
		return api.Bootstrap{}, errkind.Errorf(errkind.Usage, "%w", err)
	}
	if len(o.cfg.Toolchains) > 0 && !slices.Contains(o.cfg.Toolchains, toolchain) {
		return api.Bootstrap{}, errkind.Errorf(errkind.Refused, "toolchain %s is not configured (serve --toolchains %s): gc --boot would delete its image; add it to --toolchains first", toolchain, strings.Join(o.cfg.Toolchains, ","))
	}
	defer o.lock(volume, machine)()
	if _, err := o.machineDir(volume, machine); err != nil {
		return api.Bootstrap{}, err
	}
	if err := o.abandonStaleBootstraps(volume, machine, toolchain); err != nil {
		return api.Bootstrap{}, err
	}
	m, err := o.scan(volume, machine)
	if err != nil {
		return api.Bootstrap{}, err
	}
	if m.State != fsscan.Active || m.Current == 0 {
		return api.Bootstrap{}, errkind.Errorf(errkind.Refused, "machine %s/%s is %s: bootstrap needs a current revision", volume, machine, m.State)
	}
	if err := o.refuseDeleting(volume, machine); err != nil {
		return api.Bootstrap{}, err
	}
	drv, err := o.driver(volume)
	if err != nil {
		return api.Bootstrap{}, err
	}
	p := o.paths(volume, machine)
	// The client waits for this answer, so it is alive to be identified.
	clientStart, _ := proc.StartTime(clientPID)
	op := &db.Op{Kind: "bootstrap", Volume: volume, Machine: machine, Rev: m.Current, Toolchain: toolchain,
		Step: "running", ClientPID: clientPID, ClientStart: clientStart, Started: time.Now().UTC()}
	if err := o.db.PutOp(op); err != nil {
		return api.Bootstrap{}, err
	}
	op.Temp = p.temp("boot", op.ID)
	if err := o.db.PutOp(op); err != nil {
		return api.Bootstrap{}, err
	}
	if err := drv.Snapshot(context.Background(), p.revision(m.Current), op.Temp, false); err != nil {
		o.db.EndOp(op.ID, o.event(op, "bootstrap-failed", "bootstrap of %s/%s %s: snapshot failed: %v", volume, machine, toolchain, err))
		return api.Bootstrap{}, err
	}
	// The image belongs to the build user, as the revisions do, whoever
	// owned the revision it came from.
	if err := os.Lchown(op.Temp, o.cfg.UID, o.cfg.GID); err != nil {
		if rerr := o.removeTemp(volume, op.Temp); rerr != nil {
			return api.Bootstrap{}, fmt.Errorf("bootstrap: chown %s: %w (and removing it: %v; the next start retries)", op.Temp, err, rerr)
		}
		o.db.EndOp(op.ID, o.event(op, "bootstrap-failed", "bootstrap of %s/%s %s: chown to the build user failed: %v", volume, machine, toolchain, err))
		return api.Bootstrap{}, fmt.Errorf("bootstrap: chown %s to the build user %d:%d: %w", op.Temp, o.cfg.UID, o.cfg.GID, err)
	}
	o.cfg.CrashAt.At("bootstrap-started")
	o.watchClient(*op)
	o.rescan(op) // list and show name the temporary at once
	return api.Bootstrap{Op: op.ID, Subvol: op.Temp, Revision: m.Current, Machine: machine, Volume: volume}, nil
}

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
	drv, err := o.driver(op.Volume)
	if err != nil {
		return "", err
	}
	p := o.paths(op.Volume, op.Machine)
	if !ok {
		if err := o.removeTemp(op.Volume, op.Temp); err != nil {
			return "", err
		}
		progress.didf(api.OpAction{Action: "delete-snapshot", Path: op.Temp, Rev: op.Rev}, "deleted %s", op.Temp)
		kept := "old image kept"
		if _, err := os.Lstat(p.image(op.Toolchain)); err != nil {
			kept = "no image made"
		}
		msg := fmt.Sprintf("bootstrap of %s/%s %s failed (exit %d): %s", op.Volume, op.Machine, op.Toolchain, status, kept)
		err := o.db.EndOp(op.ID, o.event(&op, "bootstrap-failed", "%s", msg))
		o.rescan(&op)
		return msg, err
	}
	if err := drv.SetReadOnly(op.Temp, true); err != nil {
		return "", err
	}
	progress.didf(api.OpAction{Action: "make-readonly", Path: op.Temp, Rev: op.Rev}, "made %s read-only", op.Temp)
	// From here the new image may be in place at any step: its UUID tells
	// recovery whether it is.
	info, err := drv.Info(op.Temp)
	if err != nil {
		return "", err
	}
	op.UUID, op.Step = info.UUID, "exchanging"
	if err := o.db.PutOp(&op); err != nil {
		return "", err
	}
	o.cfg.CrashAt.At("bootstrap-readonly")
	final := p.image(op.Toolchain)
	replaced := false
	if _, err := os.Lstat(final); err == nil {
		// After the exchange the temporary name holds the old image.
		if err := drv.Exchange(op.Temp, final); err != nil {
			return "", err
		}
		replaced = true
		o.cfg.CrashAt.At("bootstrap-exchanged")
		if err := drv.Delete(context.Background(), op.Temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	} else if err := renameNoReplace(op.Temp, final); err != nil {
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

// abandonStaleBootstraps undoes bootstraps of the same image whose client
// is gone; one whose client still runs makes this one wait its turn.
func (o *Ops) abandonStaleBootstraps(volume, machine, toolchain string) error {
	ops, err := o.db.Ops()
	if err != nil {
		return err
	}
	for _, op := range ops {
		if op.Kind != "bootstrap" || op.Volume != volume || op.Machine != machine || op.Toolchain != toolchain {
			continue
		}
		if !clientGone(&op) || op.Step != "running" {
			return errkind.Errorf(errkind.Refused, "a bootstrap of %s/%s %s is already running (op %d, pid %d); wait for it to finish", volume, machine, toolchain, op.ID, op.ClientPID)
		}
		if _, err := o.abandonBootstrap(op.ID); err != nil {
			return err
		}
	}
	return nil
}

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
	return o.stop(op, kind, msg)
}
