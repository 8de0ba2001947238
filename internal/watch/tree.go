package watch

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// errNoSpace is what inotify_add_watch fails with when the user's watch
// limit (fs.inotify.max_user_watches) is reached.
var errNoSpace = syscall.ENOSPC

func (w *Watcher) dir(t target) string { return w.prefix + t.volume + "/" + t.machine }

// addVolume watches a volume that appeared, then its machine directories,
// and asks for each to be scanned.
func (w *Watcher) addVolume(name string) {
	if !w.watch(w.prefix + name) {
		return
	}
	vw := w.tree[name]
	if vw == nil {
		vw = newVolumeWatch()
		w.tree[name] = vw
	}
	machines, strays := w.syncMachines(name, vw)
	w.recount()
	for _, m := range machines {
		w.q.touch(target{name, m}, "")
	}
	if strays {
		w.q.touch(everything, ReasonVolume)
	}
}

func (w *Watcher) dropVolume(name string) {
	vw := w.tree[name]
	if vw == nil {
		return
	}
	for m := range vw.machines {
		w.unwatch(w.prefix + name + "/" + m)
	}
	w.unwatch(w.prefix + name)
	delete(w.tree, name)
	w.recount()
}

func (w *Watcher) addMachine(vw *volumeWatch, t target) {
	if w.watch(w.dir(t)) {
		vw.machines[t.machine] = true
		w.recount()
	}
}

// watch adds a watch on path. False when that failed: it is logged and
// everything is rescanned, so that the directory is at least scanned, and
// the next reconcile tries again.
func (w *Watcher) watch(path string) bool {
	err := w.add(path)
	if err == nil {
		return true
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false // gone again: its removal raises an event of its own
	}
	w.stats.unwatched.Add(1)
	if errors.Is(err, errNoSpace) {
		if !w.limitLogged {
			w.limitLogged = true
			w.log.Error("inotify watch limit reached: raise fs.inotify.max_user_watches; until then, changes there are found by the periodic reconcile", "path", path)
		}
	} else {
		w.log.Warn("cannot watch directory; changes there are found by the periodic reconcile", "path", path, "err", err)
	}
	w.q.touch(everything, ReasonUnwatched)
	return false
}

// unwatch drops the watch on path. Errors are expected: the kernel drops
// the watch of a deleted directory by itself.
func (w *Watcher) unwatch(path string) { _ = w.remove(path) }

// resync brings the watches in line with the volumes and machine
// directories there are: at start, after events were lost, and at each
// reconcile. Every directory is watched again, not only those missing
// from the tree: a directory replaced by another of the same name while
// events were lost keeps its place in the tree but lost its watch, and
// adding a watch that exists costs one syscall and changes nothing. It
// asks for no rescan: its callers rescan everything after it.
func (w *Watcher) resync() {
	w.limitLogged = false // once per resync is often enough
	// The root's own watch too: the kernel drops it silently when the
	// filesystem under it is unmounted.
	if err := w.add(w.root); err != nil {
		w.log.Error("cannot watch the machines root; the next reconcile tries again", "err", watchError(w.root, err))
		return
	}
	r, err := fsscan.ReadRoot(w.root)
	if err != nil {
		w.log.Error("cannot read the machines root to watch it", "err", err)
		return
	}
	seen := map[string]bool{}
	clear(w.rootStrays)
	for _, st := range r.Strays {
		w.rootStrays[st.Name] = true
	}
	for _, name := range r.Dirs {
		if !w.watch(w.prefix + name) {
			continue
		}
		seen[name] = true
		vw := w.tree[name]
		if vw == nil {
			vw = newVolumeWatch()
			w.tree[name] = vw
		}
		w.syncMachines(name, vw)
	}
	for name := range w.tree {
		if !seen[name] {
			w.dropVolume(name)
		}
	}
	w.recount()
}

// syncMachines watches every machine directory of a watched volume and
// drops the watches of those gone. It returns the machines watched, and
// whether the volume holds anything else (strays).
func (w *Watcher) syncMachines(volume string, vw *volumeWatch) (machines []string, strays bool) {
	dir := w.prefix + volume
	v, err := fsscan.ReadVolume(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.log.Warn("cannot read a volume to watch it", "err", err)
		}
		return nil, false
	}
	seen := map[string]bool{}
	clear(vw.strays)
	for _, st := range v.Strays {
		vw.strays[st.Name] = true
	}
	for _, name := range v.Dirs {
		if w.watch(dir + "/" + name) {
			seen[name] = true
			vw.machines[name] = true
			machines = append(machines, name)
		}
	}
	for name := range vw.machines {
		if !seen[name] {
			w.unwatch(dir + "/" + name)
			delete(vw.machines, name)
		}
	}
	return machines, len(v.Strays) > 0
}

// recount updates the count of watches that Stats reports.
func (w *Watcher) recount() {
	n := 1 // the root
	for _, vw := range w.tree {
		n += 1 + len(vw.machines)
	}
	w.stats.watches.Store(int64(n))
}

// isDir reports whether path is a directory, not following a link: links
// are never followed, so a link to a directory is a stray.
func isDir(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.IsDir()
}

// watchError names the operation and the path of a watch that could not
// be added.
func watchError(path string, err error) error {
	return &fs.PathError{Op: "watch machines root", Path: path, Err: err}
}
