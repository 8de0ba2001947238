package inventory

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/db"
)

// eventFunc makes an event about one machine.
type eventFunc func(kind, format string, args ...any) db.Event

// diff lists the changes from old to next that an operator would want in
// the event log. Either may be nil (appeared, gone). Snapshots coming and
// going are left to the lease events: builds make them all day long.
func diff(source string, old, next *db.Machine) []db.Event {
	m := next
	if m == nil {
		m = old
	}
	ev := func(kind, format string, args ...any) db.Event {
		return db.Event{Source: source, Kind: kind, Volume: m.Volume, Machine: m.Name, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case old == nil && next == nil:
		return nil
	case old == nil:
		es := []db.Event{ev("machine-appeared", "machine %s/%s appeared (%s)", m.Volume, m.Name, next.State)}
		return append(es, strayEvents(ev, next.Strays)...)
	case next == nil:
		return []db.Event{ev("machine-gone", "machine %s/%s is gone", m.Volume, m.Name)}
	}
	es := diffLink(ev, old, next)
	es = append(es, diffRevisions(ev, old, next)...)
	es = append(es, diffImages(ev, old, next)...)
	return append(es, strayEvents(ev, newStrays(old, next))...)
}

// diffLink tells a change of state and of the current link.
func diffLink(ev eventFunc, old, next *db.Machine) []db.Event {
	var es []db.Event
	if old.State != next.State {
		es = append(es, ev("state-changed", "state %s -> %s", old.State, next.State))
	}
	switch {
	case old.Current == next.Current:
	case old.Current == 0:
		es = append(es, ev("link-set", "current link set to revision %d", next.Current))
	case next.Current == 0:
		es = append(es, ev("link-removed", "current link removed (was revision %d)", old.Current))
	default:
		es = append(es, ev("link-switched", "link switched from revision %d to %d", old.Current, next.Current))
	}
	return es
}

// diffRevisions tells the revisions that came, went or changed their
// read-only flag.
func diffRevisions(ev eventFunc, old, next *db.Machine) []db.Event {
	var es []db.Event
	oldRevs := map[uint64]db.Revision{}
	for _, r := range old.Revisions {
		oldRevs[r.Rev] = r
	}
	newRevs := map[uint64]bool{}
	for _, r := range next.Revisions {
		newRevs[r.Rev] = true
		o, had := oldRevs[r.Rev]
		switch {
		case !had:
			es = append(es, ev("revision-added", "revision %d appeared (read-only: %t)", r.Rev, r.Readonly))
		case o.Readonly != r.Readonly:
			es = append(es, ev("revision-readonly", "revision %d read-only: %t", r.Rev, r.Readonly))
		}
	}
	for _, r := range old.Revisions {
		if !newRevs[r.Rev] {
			es = append(es, ev("revision-removed", "revision %d removed", r.Rev))
		}
	}
	return es
}

// diffImages tells the images that came, went, were replaced, or became
// stale or current again.
func diffImages(ev eventFunc, old, next *db.Machine) []db.Event {
	var es []db.Event
	oldImgs := map[string]db.Image{}
	for _, im := range old.Images {
		oldImgs[im.Toolchain] = im
	}
	newImgs := map[string]bool{}
	for _, im := range next.Images {
		newImgs[im.Toolchain] = true
		o, had := oldImgs[im.Toolchain]
		switch {
		case !had:
			es = append(es, ev("image-added", "image %s appeared (base revision %d, stale: %t)", im.Toolchain, im.BaseRevision, im.Stale))
		case o.UUID != im.UUID:
			es = append(es, ev("image-replaced", "image %s replaced (base revision %d)", im.Toolchain, im.BaseRevision))
		case !o.Stale && im.Stale:
			es = append(es, ev("image-stale", "image %s became stale (bootstrapped from revision %d, current is %d)", im.Toolchain, im.BaseRevision, next.Current))
		case o.Stale && !im.Stale:
			es = append(es, ev("image-fresh", "image %s is current again", im.Toolchain))
		}
	}
	for _, im := range old.Images {
		if !newImgs[im.Toolchain] {
			es = append(es, ev("image-removed", "image %s removed", im.Toolchain))
		}
	}
	return es
}

// newStrays are the strays of next that old did not have, by name and
// reason.
func newStrays(old, next *db.Machine) []db.Stray {
	oldStrays := map[string]bool{}
	for _, s := range old.Strays {
		oldStrays[s.Name+"\x00"+s.Reason] = true
	}
	var found []db.Stray
	for _, s := range next.Strays {
		if !oldStrays[s.Name+"\x00"+s.Reason] {
			found = append(found, s)
		}
	}
	return found
}

// maxStrayEvents bounds the stray events of one change, so that a flood
// of files dropped into a machine directory cannot push everything else
// out of the bounded event log.
const maxStrayEvents = 10

func strayEvents(ev eventFunc, found []db.Stray) []db.Event {
	var es []db.Event
	for i, s := range found {
		if i == maxStrayEvents {
			es = append(es, ev("stray-found", "and %d more strays (`bmsched show` lists them)", len(found)-i))
			break
		}
		es = append(es, ev("stray-found", "stray %s: %s", s.Name, s.Reason))
	}
	return es
}
