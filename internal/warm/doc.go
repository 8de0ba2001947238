// Package warm is the warm pool: writable snapshots of toolchain images
// made ahead of the acquires that will want them, so that an acquire
// takes one by rename instead of paying for a snapshot.
//
// It owns every `.bmsched-warm-*` entry of the machine directories: the
// directory of a machine's ready snapshots (PoolDir, which no build can
// enter), and whatever a crash left. It makes the snapshots one refill at
// a time in the background, only for images acquired within the idle
// time, and only of read-only, current images of active machines. It
// hands them to the scheduler (Take, the lease.Pool hook) and removes
// them when their image changes, their machine retires or is deleted
// (Drain, the ops hook), when the image is no longer acquired, and at
// start, when every one on disk is a crash's leftover; it forgets them,
// deleting nothing, when their volume goes out of sight. They are never
// tagged and never named as snapshots, so lease recovery never adopts
// one; the scan and the watcher read past them (fsscan.IsWarmName).
package warm
