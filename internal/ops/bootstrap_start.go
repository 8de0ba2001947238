package ops

import (
	"context"
	"fmt"
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
	if err := o.checkBootstrap(volume, machine, toolchain); err != nil {
		return api.Bootstrap{}, err
	}
	defer o.lock(volume, machine)()
	rev, err := o.bootstrapBase(volume, machine, toolchain)
	if err != nil {
		return api.Bootstrap{}, err
	}
	// The client waits for this answer, so it is alive to be identified.
	clientStart, _ := proc.StartTime(clientPID)
	op := &db.Op{Kind: "bootstrap", Volume: volume, Machine: machine, Rev: rev, Toolchain: toolchain,
		Step: "running", ClientPID: clientPID, ClientStart: clientStart, Started: time.Now().UTC()}
	if err := o.makeBootstrapTemp(op); err != nil {
		return api.Bootstrap{}, err
	}
	o.cfg.CrashAt.At("bootstrap-started")
	o.watchClient(*op)
	o.rescan(op) // list and show name the temporary at once
	return api.Bootstrap{Op: op.ID, Subvol: op.Temp, Revision: rev, Machine: machine, Volume: volume}, nil
}

// checkBootstrap checks the names, and that toolchain is configured.
func (o *Ops) checkBootstrap(volume, machine, toolchain string) error {
	if err := validate(volume, machine); err != nil {
		return err
	}
	if err := fsscan.ValidNewToolchain(toolchain); err != nil {
		return errkind.Errorf(errkind.Usage, "%w", err)
	}
	if len(o.cfg.Toolchains) > 0 && !slices.Contains(o.cfg.Toolchains, toolchain) {
		return errkind.Errorf(errkind.Refused, "toolchain %s is not configured (serve --toolchains %s): gc --boot would delete its image; add it to --toolchains first", toolchain, strings.Join(o.cfg.Toolchains, ","))
	}
	return nil
}

// bootstrapBase returns the revision a bootstrap starts from, the current
// one, once stale bootstraps of the image are undone; the machine must be
// active and not being deleted. The caller holds the machine's lock.
func (o *Ops) bootstrapBase(volume, machine, toolchain string) (uint64, error) {
	if _, err := o.machineDir(volume, machine); err != nil {
		return 0, err
	}
	if err := o.abandonStaleBootstraps(volume, machine, toolchain); err != nil {
		return 0, err
	}
	m, err := o.scan(volume, machine)
	if err != nil {
		return 0, err
	}
	if m.State != fsscan.Active || m.Current == 0 {
		return 0, errkind.Errorf(errkind.Refused, "machine %s/%s is %s: bootstrap needs a current revision", volume, machine, m.State)
	}
	if err := o.refuseDeleting(volume, machine); err != nil {
		return 0, err
	}
	return m.Current, nil
}

// makeBootstrapTemp journals the bootstrap, then snapshots its revision
// to its temporary, owned by the build user. A failure ends the journal
// record (or leaves it to the next start, when the temporary cannot be
// removed).
func (o *Ops) makeBootstrapTemp(op *db.Op) error {
	drv, err := o.driver(op.Volume)
	if err != nil {
		return err
	}
	p := o.paths(op.Volume, op.Machine)
	if err := o.db.PutOp(op); err != nil {
		return err
	}
	op.Temp = p.temp("boot", op.ID)
	if err := o.db.PutOp(op); err != nil {
		return err
	}
	if err := drv.Snapshot(context.Background(), p.revision(op.Rev), op.Temp, false); err != nil {
		o.db.EndOp(op.ID, o.event(op, "bootstrap-failed", "bootstrap of %s/%s %s: snapshot failed: %v", op.Volume, op.Machine, op.Toolchain, err))
		return err
	}
	// The image belongs to the build user, as the revisions do, whoever
	// owned the revision it came from.
	if err := os.Lchown(op.Temp, o.cfg.UID, o.cfg.GID); err != nil {
		if rerr := o.removeTemp(op.Volume, op.Temp); rerr != nil {
			return fmt.Errorf("bootstrap: chown %s: %w (and removing it: %v; the next start retries)", op.Temp, err, rerr)
		}
		o.db.EndOp(op.ID, o.event(op, "bootstrap-failed", "bootstrap of %s/%s %s: chown to the build user failed: %v", op.Volume, op.Machine, op.Toolchain, err))
		return fmt.Errorf("bootstrap: chown %s to the build user %d:%d: %w", op.Temp, o.cfg.UID, o.cfg.GID, err)
	}
	return nil
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
