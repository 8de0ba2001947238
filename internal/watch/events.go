package watch

import (
	"strings"

	"github.com/fsnotify/fsnotify"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// handle turns one event into watch changes and rescan requests. The
// event's name says where it happened: an entry of the root (a volume),
// of a volume (a machine directory) or of a machine directory.
func (w *Watcher) handle(e fsnotify.Event) {
	if e.Op == fsnotify.Write {
		return // a file's contents changed: no entry came, went or changed kind
	}
	if e.Name == w.root {
		if e.Has(fsnotify.Remove) || e.Has(fsnotify.Rename) {
			w.log.Error("the machines root was removed or moved away", "root", w.root)
			w.q.touch(everything, ReasonRoot)
		}
		return
	}
	rel, ok := strings.CutPrefix(e.Name, w.prefix)
	if !ok {
		return
	}
	volume, rest, _ := strings.Cut(rel, "/")
	if rest == "" {
		w.rootEntry(volume, e.Op)
		return
	}
	machine, entry, _ := strings.Cut(rest, "/")
	switch {
	case entry == "":
		w.volumeEntry(volume, machine, e.Op)
	case fsscan.IsWarmName(entry):
		// The warm pool's own snapshots come and go at every refill and
		// take; the scan reads past them (ReadMachineDir), so no rescan
		// would find anything.
	case !strings.Contains(entry, "/"):
		w.q.touchEntry(target{volume, machine}, entry, isLink(machine, entry))
	}
}

// isLink reports whether entry is the current link of machine, or the
// transient link an upgrade renames over it: the changes that builds
// wait on, which go ahead of snapshot churn.
func isLink(machine, entry string) bool {
	switch fsscan.ClassifyName(machine, entry).Kind {
	case fsscan.KindCurrent, fsscan.KindTransient:
		return true
	}
	return false
}

// rootEntry handles an entry of the machines root coming or going: a
// volume, or a stray. Only a full rescan updates the root's strays and
// drops the machines of a volume gone.
func (w *Watcher) rootEntry(name string, op fsnotify.Op) {
	if fsscan.IsTempName(name) {
		return
	}
	switch {
	case op.Has(fsnotify.Create):
		if fsscan.ValidVolumeName(name) == nil && isDir(w.prefix+name) {
			delete(w.rootStrays, name)
			w.addVolume(name)
			return
		}
		w.rootStrays[name] = true
	case op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename):
		switch {
		case w.tree[name] != nil:
			w.dropVolume(name)
		case w.rootStrays[name]:
			delete(w.rootStrays, name)
		default:
			return // the second event of a volume moved away
		}
	default:
		return
	}
	w.q.touch(everything, ReasonRoot)
}

// volumeEntry handles an entry of a volume coming or going: a machine
// directory, or a stray.
func (w *Watcher) volumeEntry(volume, name string, op fsnotify.Op) {
	vw := w.tree[volume]
	if vw == nil || fsscan.IsTempName(name) {
		return
	}
	t := target{volume, name}
	valid := fsscan.ValidMachineName(name) == nil
	switch {
	case op.Has(fsnotify.Create):
		if valid && isDir(w.dir(t)) {
			delete(vw.strays, name)
			// Watched before it is scanned, so that nothing created in it
			// in between is missed.
			w.addMachine(vw, t)
			w.q.touch(t, "")
			return
		}
		vw.strays[name] = true
	case op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename):
		switch {
		case vw.machines[name]:
			w.unwatch(w.dir(t))
			delete(vw.machines, name)
			w.recount()
			w.q.touch(t, "")
			return
		case vw.strays[name]:
			delete(vw.strays, name)
		default:
			if valid {
				// A machine directory that could not be watched, or the
				// second event of one moved away: its record must go.
				w.q.touch(t, "")
			}
			return
		}
	default:
		return
	}
	if valid {
		// A file or link under a machine's name: a record of that name
		// (the directory it replaced) must go.
		w.q.touch(t, "")
	}
	w.q.touch(everything, ReasonVolume) // the volume's strays changed
}
