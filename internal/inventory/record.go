package inventory

import (
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// record turns a scanned machine directory into its database record.
func record(volume, dir string, m *fsscan.Machine, now time.Time) *db.Machine {
	r := &db.Machine{
		Volume:     volume,
		Name:       m.Name,
		Dir:        dir,
		State:      string(m.State),
		Current:    m.Current,
		Revisions:  []db.Revision{},
		Images:     []db.Image{},
		Snapshots:  []db.Snapshot{},
		Strays:     []db.Stray{},
		Transients: m.Transients,
		Temps:      m.Temps,
		Scanned:    now,
	}
	for _, rv := range m.Revisions {
		r.Revisions = append(r.Revisions, db.Revision{Rev: rv.Rev, Subvol: subvol(rv.Info)})
	}
	for _, im := range m.Images {
		r.Images = append(r.Images, db.Image{Toolchain: im.Toolchain, BaseRevision: im.BaseRevision, Stale: im.Stale, Subvol: subvol(im.Info)})
	}
	for _, s := range m.Snapshots {
		r.Snapshots = append(r.Snapshots, db.Snapshot{Name: s.Name, Toolchain: s.Toolchain, ID: s.ID, Image: s.Image, Subvol: subvol(s.Info)})
	}
	r.Strays = append(r.Strays, m.Strays...)
	return r
}

func subvol(i btrfs.Info) db.Subvol {
	return db.Subvol{UUID: i.UUID, ParentUUID: i.ParentUUID, ReceivedUUID: i.ReceivedUUID, Readonly: i.Readonly}
}
