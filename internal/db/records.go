package db

import (
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

// Subvol is what the database keeps of a subvolume.
type Subvol struct {
	UUID         string `json:"uuid,omitempty"`
	ParentUUID   string `json:"parent_uuid,omitempty"`
	ReceivedUUID string `json:"received_uuid,omitempty"`
	Readonly     bool   `json:"readonly"`
}

// Revision is a machine's pre-bootstrap image <m>-<rev>.
type Revision struct {
	Rev uint64 `json:"rev"`
	Subvol
}

// Image is a bootstrapped toolchain image <m>-<t>.
type Image struct {
	Toolchain    string `json:"toolchain"`
	BaseRevision uint64 `json:"base_revision,omitempty"`
	Stale        bool   `json:"stale"`
	Subvol
}

// Snapshot is a build clone <m>-<t>-<x>, leased or not.
type Snapshot struct {
	Name      string `json:"name"`
	Toolchain string `json:"toolchain"`
	ID        string `json:"id"`
	Image     string `json:"image,omitempty"` // image it was cloned from, by provenance
	Subvol
}

// Stray is an entry outside the layout's grammar. It is stored as the
// API shows it: one definition, in api.
type Stray = api.Stray

// Machine is a machine directory as last scanned, plus what only bmsched
// knows of it (that a delete is draining it).
type Machine struct {
	Volume     string     `json:"volume"`
	Name       string     `json:"name"`
	Dir        string     `json:"dir"`
	State      string     `json:"state"`
	Current    uint64     `json:"current,omitempty"`
	Revisions  []Revision `json:"revisions"`
	Images     []Image    `json:"images"`
	Snapshots  []Snapshot `json:"snapshots"`
	Transients []string   `json:"transients,omitempty"`
	Temps      []string   `json:"temps,omitempty"`
	Strays     []Stray    `json:"strays"`
	Deleting   bool       `json:"deleting,omitempty"`
	Scanned    time.Time  `json:"scanned"`
}

// Key is the machine's key in the machines bucket.
func (m *Machine) Key() string { return m.Volume + "/" + m.Name }

// Owner is who holds a lease.
type Owner struct {
	UID      uint32 `json:"uid"`
	PID      int    `json:"pid,omitempty"`       // the owner process the client named
	PIDStart uint64 `json:"pid_start,omitempty"` // its start time in clock ticks since boot
	Label    string `json:"label,omitempty"`
}

// Lease states. A lease is committed active once its snapshot exists
// under its temporary (Temp), and releasing once its snapshot is set
// aside (Aside), so that a crash at any point leaves a record, or a
// temporary with none, that says what to finish or undo. LeaseCreating
// is the intent record of a bmsched from before one-commit acquires, which
// recovery still undoes.
const (
	LeaseCreating  = "creating"
	LeaseActive    = "active"
	LeaseHeld      = "held"
	LeaseReleasing = "releasing"
	// LeaseOrphaned is a lease adopted from disk: a tagged snapshot that
	// this database did not hand out (a lost, restored or rebuilt
	// database). Its owner is unknown; root or an operator ends it.
	LeaseOrphaned = "orphaned"
)

// Lease is a durable claim on one snapshot.
type Lease struct {
	ID        uint64     `json:"id"`
	Volume    string     `json:"volume"`
	Machine   string     `json:"machine"`
	Toolchain string     `json:"toolchain"`
	Snapshot  string     `json:"snapshot"`
	Path      string     `json:"path"`
	ImageUUID string     `json:"image_uuid,omitempty"`
	State     string     `json:"state"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires"`
	// TTL is the lifetime that acquire asked for; renew extends by it
	// unless told otherwise.
	TTL       time.Duration `json:"ttl,omitempty"`
	HoldUntil *time.Time    `json:"hold_until,omitempty"`
	Owner     Owner         `json:"owner"`
	BootID    string        `json:"boot_id"`
	// Temp is the bmsched temporary the snapshot is made under before it
	// is renamed into place: recovery finishes the rename of a snapshot
	// still there. It stays recorded after, which costs no commit.
	Temp string `json:"temp,omitempty"`
	// Aside is where a releasing lease's snapshot was renamed to when the
	// lease ended, for the deleter; "" when it is still under its name
	// (its volume was out of sight).
	Aside string `json:"aside,omitempty"`
	// Ending is the kind of the event that ended a releasing lease, told
	// to the observer once its record goes.
	Ending string `json:"ending,omitempty"`
	// Tag is the tag on the snapshot's root that proves it is this
	// lease's; "" for leases of schema 2 and before, whose tag is the
	// bare lease id.
	Tag string `json:"tag,omitempty"`
	// Adopted says why an orphaned lease was adopted.
	Adopted string `json:"adopted,omitempty"`
	// LastError is why a releasing lease's snapshot could not be deleted
	// yet: the reason the lease waits.
	LastError string `json:"last_error,omitempty"`
}

// Event is one entry of the bounded event log.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Source  string    `json:"source"` // "scan", "watch", "lease", "reaper", "ops", "serve"
	Kind    string    `json:"kind"`
	Volume  string    `json:"volume,omitempty"`
	Machine string    `json:"machine,omitempty"`
	Lease   uint64    `json:"lease,omitempty"`
	Message string    `json:"message"`
}
