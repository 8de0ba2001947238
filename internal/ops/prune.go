package ops

import (
	"context"
	"sort"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
)

// prune deletes revisions older than the current one that no link, image,
// lease or command under way depends on. A lease depends on its image,
// and an image on the revision it was bootstrapped from.
func (o *Ops) prune(volume, machine string, progress Progress) error {
	m, err := o.scan(volume, machine)
	if err != nil {
		return err
	}
	keep := map[uint64]bool{m.Current: true}
	for _, im := range m.Images {
		keep[im.BaseRevision] = true
	}
	ops, err := o.db.Ops()
	if err != nil {
		return err
	}
	for _, op := range ops {
		if op.Volume == volume && op.Machine == machine {
			keep[op.Rev] = true // a bootstrap's base, an upgrade's target
		}
	}
	drv, err := o.driver(volume)
	if err != nil {
		return err
	}
	var revs []uint64
	for _, r := range m.Revisions {
		// Only older ones: a newer revision is staged for an upgrade.
		if !keep[r.Rev] && r.Rev < m.Current {
			revs = append(revs, r.Rev)
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	p := o.paths(volume, machine)
	op := &db.Op{Volume: volume, Machine: machine}
	for _, r := range revs {
		if err := drv.Delete(context.Background(), p.revision(r)); err != nil {
			return err
		}
		progress.didf(api.OpAction{Action: "prune-revision", Path: p.revision(r), Rev: r}, "pruned revision %d", r)
		_ = o.db.AppendEvents(o.event(op, "revision-pruned", "revision %d of %s/%s pruned", r, volume, machine))
	}
	o.rescan(op)
	return nil
}
