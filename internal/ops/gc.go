package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmsched/bmsched/internal/db"
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

func (o *Ops) gcMachine(rec db.Machine, configured map[string]bool, dryRun bool) ([]string, error) {
	if rec.Deleting || !o.inv.Available(rec.Volume) {
		// `bmsched delete` is clearing it, or its filesystem is not
		// there: what its directory shows now is not the machine.
		return nil, nil
	}
	defer o.lock(rec.Volume, rec.Name)()
	// Hold acquires off while deciding which snapshots no lease holds, so
	// that none is leased between the look and the delete.
	o.leases.CloseGate(rec.Volume, rec.Name)
	defer o.leases.OpenGate(rec.Volume, rec.Name)
	if err := o.settle(rec.Volume, rec.Name); err != nil {
		return nil, err
	}
	leased, err := o.leasedPaths(rec.Volume, rec.Name)
	if err != nil {
		return nil, err
	}
	m, err := o.scan(rec.Volume, rec.Name)
	if err != nil {
		return nil, nil // gone meanwhile
	}
	drv, err := o.driver(rec.Volume)
	if err != nil {
		return nil, err
	}
	p := o.paths(rec.Volume, rec.Name)
	var acts []string
	var errs []error
	del := func(path, why string) {
		verb := "deleted"
		if dryRun {
			verb = "would delete"
		}
		acts = append(acts, fmt.Sprintf("%s %s: %s", verb, path, why))
		if dryRun {
			return
		}
		if err := drv.Delete(context.Background(), path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	// Sweep only a directory with no current link at all: a link that is
	// there but wrong (a typo, a dangling target) is an operator's
	// mistake to report, not a machine to destroy.
	sweep := m.State != fsscan.Active && !hasEntry(m.Strays, m.Name)
	anyLeased := false
	for _, s := range m.Snapshots {
		path := filepath.Join(p.dir, s.Name)
		if leased[path] {
			anyLeased = true
			continue
		}
		del(path, "snapshot with no lease")
	}
	for _, im := range m.Images {
		switch {
		case sweep && !anyLeased:
			del(p.image(im.Toolchain), "machine has no current link")
		case len(configured) > 0 && !configured[im.Toolchain]:
			del(p.image(im.Toolchain), "toolchain "+im.Toolchain+" is not configured (serve --toolchains)")
		}
	}
	if sweep && !anyLeased {
		if !dryRun {
			// The pool fills no machine without a link; whatever a
			// crash or a race left of it goes before the directory.
			if err := o.drainPool(rec.Volume, rec.Name); err != nil {
				errs = append(errs, err)
			}
		}
		for _, r := range m.Revisions {
			del(p.revision(r.Rev), "machine has no current link")
		}
		for _, t := range m.Temps {
			path := filepath.Join(p.dir, t)
			acts = append(acts, fmt.Sprintf("%s %s: bmsched temporary", map[bool]string{true: "would delete", false: "deleted"}[dryRun], path))
			if !dryRun {
				if err := o.removeTemp(rec.Volume, path); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if len(m.Strays) == 0 {
			acts = append(acts, fmt.Sprintf("%s %s: machine has no current link", map[bool]string{true: "would remove", false: "removed"}[dryRun], p.dir))
			if !dryRun {
				for _, t := range m.Transients {
					os.Remove(filepath.Join(p.dir, t))
				}
				if err := os.Remove(p.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("remove machine directory: %w", err))
				}
			}
		}
	}
	for _, s := range m.Strays {
		acts = append(acts, fmt.Sprintf("%s%s/%s: %s (not made by bmsched; remove it by hand if unwanted)", keptPrefix, p.dir, s.Name, s.Reason))
	}
	if !dryRun && len(acts) > 0 {
		op := &db.Op{Volume: rec.Volume, Machine: rec.Name}
		for _, a := range acts {
			_ = o.db.AppendEvents(o.event(op, "gc", "%s", a))
		}
		o.rescan(op)
	}
	return acts, errors.Join(errs...)
}

// settle waits until no acquire is under way on a closed machine.
func (o *Ops) settle(volume, machine string) error {
	for {
		changed := o.leases.Changed()
		if _, inflight := o.leases.InUse(volume, machine); inflight == 0 {
			return nil
		}
		<-changed
	}
}

// leasedPaths are the snapshot paths of a machine's leases.
func (o *Ops) leasedPaths(volume, machine string) (map[string]bool, error) {
	ls, err := o.db.Leases()
	if err != nil {
		return nil, err
	}
	leased := map[string]bool{}
	for _, l := range ls {
		if l.Volume == volume && l.Machine == machine {
			leased[l.Path] = true
		}
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
