package warm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Drain empties a machine's pools and removes every warm snapshot in its
// directory, after the fill under way there, if any, has ended: the ops
// hook of `delete` and `gc --boot`, so that nothing of the pool blocks
// the directory's removal or is left behind. The pool fills the machine
// again only once it is active (judge).
func (p *Pool) Drain(volume, machine string) error {
	mk := volume + "/" + machine
	p.mu.Lock()
	p.machineEpoch[mk]++
	for p.filling != nil && p.filling.machineKey() == mk {
		p.fillDone.Wait()
	}
	for k, im := range p.images {
		if k.machineKey() == mk {
			im.ready, im.full = nil, false
		}
	}
	p.mu.Unlock()
	// From the directory, not from memory: a crash's leftovers go too.
	dir := p.inv.MachineDir(volume, machine)
	paths, err := warmEntries(dir)
	if err != nil {
		return err
	}
	n, err := p.remove(volume, paths)
	if err == nil {
		err = removePoolDir(dir)
	}
	if n > 0 {
		p.event(key{volume: volume, machine: machine}, "warm-drained",
			fmt.Sprintf("warm pool of %s drained: %d snapshot(s) removed (machine being deleted or swept)", mk, n))
	}
	return err
}

// VolumeChanged drops the pools of a volume whose filesystem came, went
// or was replaced, deleting nothing: what is on disk now may not be what
// they were made on. Once the volume is available, what is left of
// them there is removed before any fill (sweepBack).
func (p *Pool) VolumeChanged(volume string) {
	p.dropVolume(volume)
	p.mu.Lock()
	p.back[volume] = true
	p.mu.Unlock()
	p.wake()
}

// dropVolume forgets the pools of a volume, and has what is left of
// them removed once it is available again.
func (p *Pool) dropVolume(volume string) {
	p.mu.Lock()
	p.volumeEpoch[volume]++
	p.down[volume] = true
	n := 0
	for k, im := range p.images {
		if k.volume == volume {
			n += len(im.ready)
			im.ready, im.full = nil, false
		}
	}
	p.mu.Unlock()
	if n > 0 {
		p.log.Info("warm pool: volume changed or unavailable; its pools dropped", "volume", volume, "snapshots", n)
		p.event(key{volume: volume}, "warm-dropped",
			fmt.Sprintf("warm pools of volume %s dropped (%d snapshot(s)): its filesystem changed or is not mounted; what is left is removed when it is back", volume, n))
	}
}

// drain empties one image's pool, forgetting it when it fell idle.
func (p *Pool) drain(k key, why string, forget bool) {
	p.mu.Lock()
	var paths []string
	if im := p.images[k]; im != nil {
		paths, im.ready, im.full = im.ready, nil, false
	}
	if forget {
		delete(p.images, k)
	}
	p.mu.Unlock()
	p.removeDrained(k, paths, why)
}

// removeDrained removes an image's drained snapshots and tells it.
func (p *Pool) removeDrained(k key, paths []string, why string) {
	if len(paths) == 0 {
		return
	}
	n, _ := p.remove(k.volume, paths)
	p.event(k, "warm-drained", fmt.Sprintf("warm pool of %s drained: %d snapshot(s) removed (%s)", k.image(), n, why))
}

// sweepAll removes every warm snapshot on the available volumes, before
// the first fill: with no pool in memory yet, each is a leftover of the
// daemon before. The volumes out of sight are swept once back.
func (p *Pool) sweepAll() {
	vols, _, err := p.inv.Volumes()
	if err != nil {
		p.log.Warn("warm pool: list the volumes to remove leftovers; they are removed when each volume is seen again", "err", err)
		return
	}
	p.mu.Lock()
	for _, v := range vols {
		p.down[v], p.back[v] = true, true
	}
	p.mu.Unlock()
	p.sweepBack()
}

// sweepBack removes the leftovers on the volumes that changed and are
// available now, lets them be filled again, and returns them. A volume the refiller
// found unavailable by itself waits for the inventory's word that it
// changed (VolumeChanged): the refiller may see it back before the
// change is acted on, and would fill what is then dropped again.
func (p *Pool) sweepBack() (up []string) {
	p.mu.Lock()
	var back []string
	for v := range p.back {
		if p.inv.Available(v) {
			back = append(back, v)
		}
	}
	p.mu.Unlock()
	for _, v := range back {
		n, err := p.sweepVolume(v)
		if err != nil {
			// Told once; the pool goes on, its new names are its own.
			// A delete of the machine tries the leftover again (Drain).
			p.log.Warn("warm pool: remove leftover snapshots", "volume", v, "err", err)
		}
		if n > 0 {
			p.event(key{volume: v}, "warm-removed", fmt.Sprintf("removed %d warm snapshot(s) left on volume %s by an earlier daemon or mount", n, v))
		}
		p.mu.Lock()
		delete(p.down, v)
		delete(p.back, v)
		p.mu.Unlock()
		up = append(up, v)
	}
	return up
}

// sweepVolume removes every warm snapshot in the machine directories of
// a volume.
func (p *Pool) sweepVolume(volume string) (removed int, err error) {
	des, err := os.ReadDir(p.inv.MachineDir(volume, ""))
	if err != nil {
		return 0, fmt.Errorf("read volume directory to remove warm leftovers: %w", err)
	}
	var errs []error
	for _, de := range des {
		if !de.IsDir() || fsscan.ValidMachineName(de.Name()) != nil {
			continue
		}
		dir := p.inv.MachineDir(volume, de.Name())
		ps, err := warmEntries(dir)
		n, rerr := p.remove(volume, ps)
		removed += n
		if err == nil && rerr == nil {
			err = removePoolDir(dir)
		}
		errs = append(errs, err, rerr)
	}
	return removed, errors.Join(errs...)
}

// remove deletes snapshots of the pool. One already gone is no error,
// but is not counted: a drain and the refiller may race to remove it.
func (p *Pool) remove(volume string, paths []string) (removed int, err error) {
	if len(paths) == 0 {
		return 0, nil
	}
	drv, err := p.inv.Driver(volume)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, path := range paths {
		err := drv.Delete(context.Background(), path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, fmt.Errorf("warm pool: %w (remove it by hand once whatever holds it lets go)", err))
		default:
			removed++
		}
	}
	p.count(func(s *Stats) { s.Drained += uint64(removed) })
	for _, err := range errs {
		p.log.Warn("warm pool: remove a snapshot", "err", err)
	}
	return removed, errors.Join(errs...)
}

// event records the pool's work in the event log: fills and drains, not
// each snapshot.
func (p *Pool) event(k key, kind, msg string) {
	p.log.Info(msg)
	ev := db.Event{Source: "warm", Kind: kind, Volume: k.volume, Machine: k.machine, Message: msg, Time: time.Now().UTC()}
	if err := p.db.AppendEvents(ev); err != nil {
		p.log.Warn("warm pool: record an event", "kind", kind, "err", err)
	}
}
