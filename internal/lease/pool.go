package lease

import "github.com/bmsched/bmsched/internal/btrfs"

// Pool hands out ready-made writable snapshots (see internal/warm).
type Pool interface {
	// Take renames a ready writable snapshot of the image (volume, machine,
	// toolchain) whose subvolume UUID is imageUUID to dest, in the same
	// directory, and reports whether it did. It never waits on a snapshot
	// being made.
	Take(volume, machine, toolchain, imageUUID, dest string) bool
}

// snapshotTo puts a writable snapshot of the request's image at dest:
// one the pool has ready, else one made now. Either way dest is then
// tagged and renamed as a snapshot made here would be.
func (s *Scheduler) snapshotTo(drv btrfs.Driver, req Request, image, imageUUID, dest string) error {
	if s.cfg.Pool != nil && s.cfg.Pool.Take(req.Volume, req.Machine, req.Toolchain, imageUUID, dest) {
		return nil
	}
	return drv.Snapshot(image, dest, false)
}
