package fsscan

import (
	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
)

// EntryType is the file type of a directory entry, as lstat sees it.
type EntryType int

const (
	TypeOther EntryType = iota
	TypeDir
	TypeSymlink
	TypeFile
)

// DirEntry is one entry of a machine directory, as read from the
// filesystem: the input of Classify.
type DirEntry struct {
	Name      string
	Type      EntryType
	Target    string     // symlink target, as readlink returns it
	Subvolume bool       // a directory that is the root of a subvolume
	Info      btrfs.Info // for subvolumes
}

// State is a machine directory's state, derived from what is there.
type State string

const (
	Active   State = "active"   // current link present and valid
	Pending  State = "pending"  // no current link yet, no snapshots
	Retiring State = "retiring" // no current link, snapshots remain
	Deleting State = "deleting" // bmsched delete is draining it (set by the daemon, never by Classify)
	// Unavailable: its volume's filesystem is not mounted; nothing on it
	// is ended or deleted (set by the daemon, never by Classify).
	Unavailable State = "unavailable"
)

// Revision is a read-only pre-bootstrap image <m>-<rev>.
type Revision struct {
	Rev  uint64
	Name string
	Info btrfs.Info
}

// Image is a bootstrapped toolchain image <m>-<t>.
type Image struct {
	Toolchain    string
	Name         string
	Info         btrfs.Info
	BaseRevision uint64 // revision whose UUID is Info.ParentUUID; 0 when unknown
	// Stale: BaseRevision is not the current revision. An image whose
	// base is unknown is stale, and so is every image of a machine with
	// no valid current link: nothing vouches for them.
	Stale bool
}

// Snapshot is a build clone <m>-<t>-<x>.
type Snapshot struct {
	Toolchain string
	ID        string
	Name      string
	Info      btrfs.Info
	Image     string // name of the image whose UUID is Info.ParentUUID; "" when unknown
}

// Stray is an entry outside the grammar, or one that breaks its rules:
// the one definition, which the database stores and the answers carry.
type Stray = api.Stray

// Machine is a classified machine directory. Its slices are never nil, so
// that they encode as JSON arrays.
type Machine struct {
	Name       string
	Dir        string // the directory scanned; "" from Classify, which reads no directory
	State      State
	Current    uint64     // revision the current link points to; 0 when none
	Revisions  []Revision // sorted by Rev
	Images     []Image    // sorted by Toolchain
	Snapshots  []Snapshot // sorted by Name
	Transients []string   // new-<m> links of an upgrade in progress (at most one)
	Temps      []string   // .bmsched-* entries, sorted
	Strays     []Stray    // sorted by Name
}
