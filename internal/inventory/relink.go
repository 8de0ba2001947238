package inventory

import (
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Relink brings a machine's record up to date with its current and
// transient links alone, read by name (fsscan.ReadLinks): for a link
// switched while nothing else the record holds changed. Reading the whole
// directory would wait, on btrfs, for every snapshot being made in it.
// The rest is classified as the record has it, so the link is judged by
// the same rules as in a scan. It returns false, having stored nothing,
// when the record cannot tell: no record, or a link it finds wrong; then
// the caller rescans.
func (inv *Inventory) Relink(volume, name, source string) (bool, error) {
	if ok, err := inv.CheckVolume(volume); !ok || err != nil {
		return false, err
	}
	unlock := inv.scanMu.Lock(volume + "/" + name)
	defer unlock()
	old, ok, err := inv.DB.Machine(volume, name)
	if err != nil || !ok || old.State == string(fsscan.Unavailable) {
		return false, err
	}
	links, err := fsscan.ReadLinks(old.Dir)
	if err != nil {
		return false, err
	}
	m := fsscan.Classify(name, append(recordEntries(&old), links...))
	if len(m.Strays) > 0 {
		// A link to nothing the record holds as a revision: only a scan
		// can tell a dangling link from a revision newer than the record.
		return false, nil
	}
	m.Strays = keptStrays(&old, name) // in the record's order, sorted
	return true, inv.store(source, []scan{{volume: volume, name: name, dir: old.Dir, m: &m}})
}

// recordEntries are the directory entries a record stands for, but its
// links and strays: revisions, images and snapshots as the subvolumes
// they were scanned as, and the temporaries.
func recordEntries(m *db.Machine) []fsscan.DirEntry {
	var out []fsscan.DirEntry
	sub := func(name string, s db.Subvol) {
		out = append(out, fsscan.DirEntry{Name: name, Type: fsscan.TypeDir, Subvolume: true,
			Info: btrfs.Info{UUID: s.UUID, ParentUUID: s.ParentUUID, ReceivedUUID: s.ReceivedUUID, Readonly: s.Readonly}})
	}
	for _, r := range m.Revisions {
		sub(fsscan.RevisionName(m.Name, r.Rev), r.Subvol)
	}
	for _, im := range m.Images {
		sub(fsscan.ImageName(m.Name, im.Toolchain), im.Subvol)
	}
	for _, sn := range m.Snapshots {
		sub(sn.Name, sn.Subvol)
	}
	for _, t := range m.Temps {
		out = append(out, fsscan.DirEntry{Name: t, Type: fsscan.TypeOther})
	}
	return out
}

// keptStrays are the record's strays but those of its links, which the
// links read again judge afresh.
func keptStrays(m *db.Machine, name string) []fsscan.Stray {
	var out []fsscan.Stray
	for _, s := range m.Strays {
		if s.Name != name && s.Name != fsscan.TransientName(name) {
			out = append(out, fsscan.Stray{Name: s.Name, Reason: s.Reason})
		}
	}
	return out
}
