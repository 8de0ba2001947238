package ops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// GC reconciles the database with the volumes now. With boot it also does
// the Build OS monitor's cleanup at boot, when no build runs: machine
// directories with no current link are swept, snapshots with no lease are
// deleted, and images of toolchains no longer configured are deleted.
// Strays are only reported. With dryRun it reports and changes nothing.
// It returns what it did (or would do).
func (o *Ops) GC(boot, dryRun bool, progress Progress) ([]string, error) {
	if err := o.inv.RescanAll("gc"); err != nil {
		progress("rescan incomplete: %v", err)
	}
	abandoned, err := o.abandonDead(dryRun)
	for _, a := range abandoned {
		progress("%s", a)
	}
	if err != nil || !boot {
		return abandoned, err
	}
	configured := map[string]bool{}
	for _, t := range o.cfg.Toolchains {
		configured[t] = true
	}
	done, err := o.leases.EndEarlierOrphans(dryRun)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	machines, err := o.db.Machines()
	if err != nil {
		return nil, err
	}
	for _, rec := range machines {
		acts, err := o.gcMachine(rec, configured, dryRun)
		done = append(done, acts...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, a := range done {
		progress("%s", a)
	}
	return append(abandoned, done...), errors.Join(errs...)
}

// gcMachine plans gc's work on one machine and, unless dryRun, applies
// the plan. The machine is locked and closed to acquires from the look to
// the last step, so that no snapshot is leased in between.
func (o *Ops) gcMachine(rec db.Machine, configured map[string]bool, dryRun bool) ([]string, error) {
	if rec.Deleting || !o.inv.Available(rec.Volume) {
		// `bmsched delete` is clearing it, or its filesystem is not
		// there: what its directory shows now is not the machine.
		return nil, nil
	}
	defer o.lock(rec.Volume, rec.Name)()
	o.leases.CloseGate(rec.Volume, rec.Name)
	defer o.leases.OpenGate(rec.Volume, rec.Name)
	o.drainAcquires(rec.Volume, rec.Name)
	leased, err := o.leasedPaths(rec.Volume, rec.Name)
	if err != nil {
		return nil, err
	}
	m, err := o.scan(rec.Volume, rec.Name)
	if errkind.Is(err, errkind.NotFound) {
		return nil, nil // removed since the database was read
	}
	if err != nil {
		return nil, fmt.Errorf("gc of %s/%s: %w (nothing of it was changed: fix what keeps it from being read, then run gc again)", rec.Volume, rec.Name, err)
	}
	pl := planGC(m, o.paths(rec.Volume, rec.Name), leased, configured)
	if dryRun {
		return pl.lines(true), nil
	}
	return o.applyGC(rec.Volume, rec.Name, pl)
}

// drainAcquires waits until no acquire is under way on a closed machine.
func (o *Ops) drainAcquires(volume, machine string) {
	for {
		changed := o.leases.Changed()
		if _, inflight := o.leases.InUse(volume, machine); inflight == 0 {
			return
		}
		<-changed
	}
}

// leasedPaths are the snapshot paths of a machine's leases.
func (o *Ops) leasedPaths(volume, machine string) (map[string]bool, error) {
	ls, err := o.db.MachineLeases(volume, machine)
	if err != nil {
		return nil, err
	}
	leased := map[string]bool{}
	for _, l := range ls {
		leased[l.Path] = true
	}
	return leased, nil
}

func hasEntry(strays []fsscan.Stray, name string) bool {
	for _, s := range strays {
		if s.Name == name {
			return true
		}
	}
	return false
}

// keptPrefix starts gc's lines about entries it keeps: reports, not
// actions.
const keptPrefix = "kept "

// CountActions tells gc's actions (done, or that a dry run would do) from
// its reports of entries kept.
func CountActions(lines []string) (actions, kept int) {
	for _, l := range lines {
		if strings.HasPrefix(l, keptPrefix) {
			kept++
		} else {
			actions++
		}
	}
	return actions, kept
}
