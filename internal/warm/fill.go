package warm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// run refills until Stop, one image at a time, so that the pool never
// makes more than one snapshot at once beside the acquires. An acquire
// (Take) has its own image's pool refilled at once; every pool is looked
// at again after a stored rescan (an image replaced, a machine retired),
// at most every roundEvery, and when a pool falls idle.
func (p *Pool) run() {
	defer close(p.done)
	idle := time.NewTimer(0) // the first round at once
	defer idle.Stop()
	var settle <-chan time.Time // the round a rescan asked for
	var last time.Time
	for {
		changed := p.inv.Changed()
		select {
		case <-p.stop:
			return
		case <-p.kick:
			p.roundOf(p.takeDue())
			continue
		case <-changed:
			if settle == nil {
				settle = time.After(time.Until(last.Add(roundEvery)))
			}
			continue
		case <-settle:
		case <-idle.C:
		}
		settle, last = nil, time.Now()
		idle.Reset(p.round())
	}
}

// roundEvery spaces the rounds over every pool: each reads the record of
// every machine with a pool, and a busy host stores a rescan at nearly
// every acquire and release. A pool that waits for one has no snapshot
// handed out meanwhile that it should not: Take matches the image's UUID,
// and acquires refuse machines that are not active.
const roundEvery = 250 * time.Millisecond

// epochs are a machine's and its volume's drain counts when a fill was
// decided on.
type epochs struct{ machine, volume uint64 }

// round brings every pool in line with its image and refills those
// short; it returns how long until the next pool falls idle.
func (p *Pool) round() time.Duration { return p.roundOf(p.keys()) }

// roundOf is round for the pools of keys.
func (p *Pool) roundOf(keys []key) time.Duration {
	for _, v := range p.sweepBack() {
		// Its pools wait for no rescan to be filled again.
		keys = append(keys, p.keysOn(v)...)
	}
	next := p.cfg.Idle
	for _, k := range keys {
		if p.stopping() {
			break
		}
		// Read before the machine's record: a Drain after this look is
		// seen by the fill, however the record read.
		ep := p.epochsOf(k)
		want, uuid, why := p.judge(k)
		switch why {
		case "":
			p.fill(k, uuid, want, ep)
		case whyIdle:
			p.drain(k, why, true)
		case whyUnavailable:
			p.dropVolume(k.volume)
		default:
			p.drain(k, why, false)
		}
		if d := p.idleIn(k); d > 0 && d < next {
			next = d
		}
	}
	return next
}

const (
	whyIdle        = "not acquired lately"
	whyUnavailable = "its volume is unavailable"
)

// judge says how many snapshots of the image to keep ready, and of
// which image UUID; or why none.
func (p *Pool) judge(k key) (want int, uuid, why string) {
	if p.idleIn(k) <= 0 {
		return 0, "", whyIdle
	}
	if !p.inv.Available(k.volume) {
		return 0, "", whyUnavailable
	}
	m, ok, err := p.db.Machine(k.volume, k.machine)
	switch {
	case err != nil:
		p.log.Warn("warm pool: read a machine's record; trying again at the next change", "machine", k.machineKey(), "err", err)
		return 0, "", ""
	case !ok:
		return 0, "", "machine gone"
	case m.Deleting:
		return 0, "", "machine being deleted"
	case m.State != string(fsscan.Active):
		return 0, "", "machine " + m.State
	}
	for _, im := range m.Images {
		switch {
		case im.Toolchain != k.toolchain:
			continue
		case im.Stale:
			return 0, "", "image stale"
		case !im.Readonly:
			return 0, "", "image not read-only"
		case im.UUID == "":
			return 0, "", "image has no UUID"
		}
		return p.cfg.target(k), im.UUID, ""
	}
	return 0, "", "image gone"
}

// fill makes the image's pool up to want snapshots of the image uuid.
func (p *Pool) fill(k key, uuid string, want int, ep epochs) {
	if old := p.rebase(k, uuid); len(old) > 0 {
		p.removeDrained(k, old, "image replaced")
	}
	need, ok := p.begin(k, want, ep)
	if !ok {
		return
	}
	made, err := p.make(k, uuid, need, ep)
	p.mu.Lock()
	p.filling = nil
	p.fillDone.Broadcast()
	im := p.images[k]
	full := im != nil && !im.full && len(im.ready) >= want
	if full {
		im.full = true
	}
	tell := err != nil && im != nil && !im.failed
	if im != nil {
		im.failed = err != nil
	}
	p.mu.Unlock()
	switch {
	case err != nil && (errors.Is(err, fs.ErrNotExist) || !p.inv.Available(k.volume)):
		// The machine or its volume went while the fill ran: the next
		// round drains or drops the pool, quietly.
		p.log.Debug("warm pool: fill stopped, its image went", "image", k.image(), "err", err)
	case tell:
		p.log.Warn("warm pool: fill failed; acquires of the image make their own snapshots until it succeeds", "image", k.image(), "err", err)
		p.event(k, "warm-fill-failed", fmt.Sprintf("warm pool of %s: fill failed (acquires make their own snapshots meanwhile): %v", k.image(), err))
	case full:
		p.event(k, "warm-filled", fmt.Sprintf("warm pool of %s filled: %d ready snapshot(s) of image %s (%d made)", k.image(), want, uuid, made))
	}
}

// begin marks the image as being filled and says how many to make; not
// ok when nothing is to be made or a drain came since ep.
func (p *Pool) begin(k key, want int, ep epochs) (need int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	im := p.images[k]
	if im == nil || p.down[k.volume] || p.epochsLocked(k) != ep || len(im.ready) >= want {
		return 0, false
	}
	p.filling = &k
	return want - len(im.ready), true
}

// make snapshots the image need times, keeping each in the pool. Each
// snapshot's parent UUID proves what it was made of: an image replaced
// since the record was read is not the one the pool was asked for.
func (p *Pool) make(k key, uuid string, need int, ep epochs) (made int, err error) {
	drv, err := p.inv.Driver(k.volume)
	if err != nil {
		return 0, err
	}
	dir := p.inv.MachineDir(k.volume, k.machine)
	src := filepath.Join(dir, fsscan.ImageName(k.machine, k.toolchain))
	pd, err := poolDir(dir)
	if err != nil {
		return 0, err
	}
	info, err := drv.Info(src)
	if err != nil {
		return 0, err
	}
	if info.UUID != uuid || !info.Readonly {
		return 0, nil // the record lags the disk; the rescan on its way wakes the pool
	}
	for range need {
		if p.stopping() {
			return made, nil
		}
		path := p.newPath(pd, k.toolchain)
		if err := drv.Snapshot(context.Background(), src, path, false); err != nil {
			return made, err
		}
		got, err := drv.Info(path)
		if err != nil || got.ParentUUID != uuid || !p.keep(k, uuid, path, ep) {
			// Replaced meanwhile, or drained: not for this pool.
			p.remove(k.volume, []string{path})
			return made, err
		}
		made++
	}
	return made, nil
}

// keep adds a snapshot made to the image's pool, unless the pool was
// drained or rebased since the fill began.
func (p *Pool) keep(k key, uuid, path string, ep epochs) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	im := p.images[k]
	if im == nil || im.uuid != uuid || p.down[k.volume] || p.epochsLocked(k) != ep {
		return false
	}
	im.ready = append(im.ready, path)
	p.stats.Refills++
	return true
}

// rebase points the image's pool at the image uuid; it returns the
// snapshots of the image before, to remove.
func (p *Pool) rebase(k key, uuid string) (old []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	im := p.images[k]
	if im == nil || im.uuid == uuid {
		return nil
	}
	old, im.ready, im.uuid, im.full = im.ready, nil, uuid, false
	return old
}

// newPath names a new snapshot of toolchain in the pool directory pd.
// The names are this daemon's: every one on disk was removed at start.
func (p *Pool) newPath(pd, toolchain string) string {
	p.mu.Lock()
	p.seq++
	n := p.seq
	p.mu.Unlock()
	return filepath.Join(pd, fmt.Sprintf("%s-%d", toolchain, n))
}

func (k key) image() string { return k.volume + "/" + fsscan.ImageName(k.machine, k.toolchain) }

// takeDue returns the images acquired since it was last called.
func (p *Pool) takeDue() []key {
	p.mu.Lock()
	defer p.mu.Unlock()
	ks := make([]key, 0, len(p.due))
	for k := range p.due {
		ks = append(ks, k)
	}
	clear(p.due)
	return ks
}

// keysOn returns the images with a pool on volume.
func (p *Pool) keysOn(volume string) []key {
	var ks []key
	for _, k := range p.keys() {
		if k.volume == volume {
			ks = append(ks, k)
		}
	}
	return ks
}

func (p *Pool) keys() []key {
	p.mu.Lock()
	defer p.mu.Unlock()
	ks := make([]key, 0, len(p.images))
	for k := range p.images {
		ks = append(ks, k)
	}
	return ks
}

// idleIn is how long until the image's pool falls idle; 0 or less when
// it has, or has no pool.
func (p *Pool) idleIn(k key) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	im := p.images[k]
	if im == nil {
		return 0
	}
	return p.cfg.Idle - time.Since(im.used)
}

func (p *Pool) epochsOf(k key) epochs {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epochsLocked(k)
}

// epochsLocked is epochsOf; p.mu must be held.
func (p *Pool) epochsLocked(k key) epochs {
	return epochs{machine: p.machineEpoch[k.machineKey()], volume: p.volumeEpoch[k.volume]}
}

func (p *Pool) stopping() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}
