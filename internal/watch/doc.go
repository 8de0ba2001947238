// Package watch follows a machines root as it changes: it owns the
// inotify watches on the root, its volumes and their machine directories
// (never anything deeper), the debounce queue that coalesces their events
// per machine directory, and the workers that ask the owner (a Handler)
// to rescan one machine directory, or everything when events were lost.
// What an entry is, it leaves to internal/fsscan's grammar.
package watch
