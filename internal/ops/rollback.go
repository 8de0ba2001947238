package ops

import (
	"path/filepath"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// Rollback switches the current link back to the newest revision older
// than the current one.
func (o *Ops) Rollback(volume, machine string, progress Progress) error {
	if err := validate(volume, machine); err != nil {
		return err
	}
	defer o.lock(volume, machine)()
	if _, err := o.machineDir(volume, machine); err != nil {
		return err
	}
	m, err := o.scan(volume, machine)
	if err != nil {
		return err
	}
	if err := o.refuseDeleting(volume, machine); err != nil {
		return err
	}
	if m.Current == 0 {
		return errkind.Errorf(errkind.Refused, "machine %s/%s has no current revision to roll back from", volume, machine)
	}
	var prev uint64
	for _, r := range m.Revisions {
		if r.Rev < m.Current && r.Info.Readonly {
			prev = r.Rev
		}
	}
	if prev == 0 {
		return errkind.Errorf(errkind.Refused, "machine %s/%s has no read-only revision older than %d to roll back to", volume, machine, m.Current)
	}
	p := o.paths(volume, machine)
	if err := switchLink(p, prev); err != nil {
		return err
	}
	op := &db.Op{Volume: volume, Machine: machine}
	if err := o.db.AppendEvents(o.event(op, "machine-rolled-back", "machine %s/%s rolled back from revision %d to %d", volume, machine, m.Current, prev)); err != nil {
		return err
	}
	o.rescan(op)
	progress.didf(api.OpAction{Action: "switch-link", Path: p.link(), From: api.Rev(m.Current), To: api.Rev(prev)},
		"current link %s -> %s", p.link(), filepath.Base(p.revision(prev)))
	return nil
}
