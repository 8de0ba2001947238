package fsscan

// linkProvenance fills each image's base revision and staleness and each
// snapshot's image from btrfs's own record: a snapshot's ParentUUID is the
// UUID of the subvolume it was taken of. Names are not trusted for this; an
// image renamed or re-bootstrapped by hand still tells the truth.
func linkProvenance(m *Machine) {
	revByUUID := uniqueByUUID(len(m.Revisions), func(i int) string { return m.Revisions[i].Info.UUID })
	for i := range m.Images {
		img := &m.Images[i]
		if j, ok := revByUUID[img.Info.ParentUUID]; ok {
			img.BaseRevision = m.Revisions[j].Rev
		}
		// With no current revision nothing vouches for any image, and an
		// image of unknown base may be anything: both are stale.
		img.Stale = img.BaseRevision == 0 || img.BaseRevision != m.Current
	}
	imgByUUID := uniqueByUUID(len(m.Images), func(i int) string { return m.Images[i].Info.UUID })
	for i := range m.Snapshots {
		s := &m.Snapshots[i]
		if j, ok := imgByUUID[s.Info.ParentUUID]; ok {
			s.Image = m.Images[j].Name
		}
	}
}

// uniqueByUUID indexes n subvolumes by UUID. An empty UUID (the plain
// driver, or a kernel that reports none) matches nothing, and a UUID that
// two subvolumes share (which btrfs never makes, but a copied image can
// fake) matches neither: unknown is better than a guess.
func uniqueByUUID(n int, uuid func(int) string) map[string]int {
	idx := make(map[string]int, n)
	dup := map[string]bool{}
	for i := range n {
		u := uuid(i)
		if u == "" {
			continue
		}
		if _, ok := idx[u]; ok {
			dup[u] = true
		}
		idx[u] = i
	}
	for u := range dup {
		delete(idx, u)
	}
	return idx
}
