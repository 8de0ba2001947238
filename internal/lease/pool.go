package lease

// Pool hands out ready-made writable snapshots (see internal/warm).
type Pool interface {
	// Take renames a ready writable snapshot of the image (volume, machine,
	// toolchain) whose subvolume UUID is imageUUID to dest, in the same
	// directory, and reports whether it did. It never waits on a snapshot
	// being made.
	Take(volume, machine, toolchain, imageUUID, dest string) bool
}
