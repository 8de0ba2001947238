// Package api is the JSON contract between the bmsched daemon and its
// clients: the shapes of design §5 (fields may be added, never renamed) and
// a client for the daemon's Unix socket.
package api

import "time"

// Owner is who holds a lease.
type Owner struct {
	UID   uint32 `json:"uid"`
	PID   int    `json:"pid"` // 0 when the lease has no owner process
	Label string `json:"label"`
}

// Lease is one snapshot handed to a build.
type Lease struct {
	ID        uint64     `json:"id"`
	Volume    string     `json:"volume"`
	Machine   string     `json:"machine"`
	Toolchain string     `json:"toolchain"`
	Snapshot  string     `json:"snapshot"`
	Path      string     `json:"path"`
	Created   time.Time  `json:"created"`
	Expires   *time.Time `json:"expires"`
	Owner     *Owner     `json:"owner"` // null for an orphaned lease: its owner is unknown
	State     string     `json:"state"`
	HoldUntil *time.Time `json:"hold_until,omitempty"`
	ImageUUID string     `json:"image_uuid,omitempty"` // the image it was cloned from
	Adopted   string     `json:"adopted,omitempty"`    // why an orphaned lease was adopted
	// LastError is why a releasing lease waits: its snapshot's delete
	// failed, and bmsched retries it.
	LastError string `json:"last_error,omitempty"`
}

// Revision is a machine revision <m>-<rev>.
type Revision struct {
	Rev          uint64 `json:"rev"`
	Readonly     bool   `json:"readonly"`
	UUID         string `json:"uuid"`
	ReceivedUUID string `json:"received_uuid,omitempty"`
}

// Toolchain is a bootstrapped image <m>-<t>.
type Toolchain struct {
	Name         string  `json:"name"`
	BaseRevision *uint64 `json:"base_revision"`
	Stale        bool    `json:"stale"`
	Readonly     bool    `json:"readonly"`
	UUID         string  `json:"uuid"`
	ParentUUID   string  `json:"parent_uuid,omitempty"`
	// Warm counts the warm pool's snapshots of the image ready for
	// acquires; absent when the daemon keeps no pool (serve --warm).
	Warm *int `json:"warm,omitempty"`
}

// Snapshot is a build clone <m>-<t>-<x>; Lease is nil when bmsched did not
// hand it out.
type Snapshot struct {
	Name      string  `json:"name"`
	Toolchain string  `json:"toolchain"`
	Lease     *uint64 `json:"lease"`
}

// Stray is an entry outside the layout, with why; the database stores it
// in this shape too (db.Stray).
type Stray struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Machine is one machine directory in full.
type Machine struct {
	Volume     string      `json:"volume"`
	Name       string      `json:"name"`
	Dir        string      `json:"dir"`
	State      string      `json:"state"`
	Current    *uint64     `json:"current"`
	Revisions  []Revision  `json:"revisions"`
	Toolchains []Toolchain `json:"toolchains"`
	Snapshots  []Snapshot  `json:"snapshots"`
	Leases     int         `json:"leases"`
	Strays     []Stray     `json:"strays"`
	Transients []string    `json:"transients,omitempty"`
	// Temps are bmsched's own temporaries (.bmsched-*) in the directory.
	Temps []string `json:"temps,omitempty"`
	// Bootstraps are the bootstraps under way on the machine.
	Bootstraps []BootstrapRun `json:"bootstraps,omitempty"`
}

// BootstrapRun is a bootstrap under way: its client runs the command in
// the temporary Temp.
type BootstrapRun struct {
	Op        uint64    `json:"op"`
	Toolchain string    `json:"toolchain"`
	Revision  uint64    `json:"revision"`
	ClientPID int       `json:"client_pid"`
	Temp      string    `json:"temp"`
	Step      string    `json:"step"`
	Started   time.Time `json:"started"`
}

// List is the answer to `bmsched list`.
type List struct {
	Machines []Machine `json:"machines"`
	// Strays are entries of the machines root or a volume that are not
	// machine directories.
	Strays []Stray `json:"strays,omitempty"`
	// Volumes are the volumes bmsched knows, with their filesystems.
	Volumes []Volume `json:"volumes,omitempty"`
}

// Volume is a volume and the filesystem bmsched knows it by.
type Volume struct {
	Name  string    `json:"name"`
	State string    `json:"state"` // "available" or "unavailable"
	FS    string    `json:"fs,omitempty"`
	Type  string    `json:"type,omitempty"`
	Mount bool      `json:"mount"`
	Since time.Time `json:"since"`
}

// Leases is the answer to `bmsched leases`.
type Leases struct {
	Leases  []Lease   `json:"leases"`
	Waiting []Waiting `json:"waiting,omitempty"`
}

// Event is one entry of the daemon's event log.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`
	Kind    string    `json:"kind"`
	Volume  string    `json:"volume,omitempty"`
	Machine string    `json:"machine,omitempty"`
	Lease   uint64    `json:"lease,omitempty"`
	Message string    `json:"message"`
}

// Events is the answer to `bmsched events`.
type Events struct {
	Events []Event `json:"events"`
}

// AcquireRequest is the body of POST /v1/acquire. Durations are Go
// durations ("90s", "2h").
type AcquireRequest struct {
	Machine    string `json:"machine"`
	Toolchain  string `json:"toolchain"`
	Wait       string `json:"wait,omitempty"`
	TTL        string `json:"ttl,omitempty"`
	OwnerPID   int    `json:"owner_pid,omitempty"`
	Label      string `json:"label,omitempty"`
	Priority   int    `json:"priority,omitempty"`
	AllowStale bool   `json:"allow_stale,omitempty"`
}

// ReleaseRequest is the body of POST /v1/leases/{id}/release.
type ReleaseRequest struct {
	Hold string `json:"hold,omitempty"`
}

// RenewRequest is the body of POST /v1/leases/{id}/renew.
type RenewRequest struct {
	TTL string `json:"ttl,omitempty"`
}

// Message is a plain answer.
type Message struct {
	Message string `json:"message"`
}

// Waiting is a request queued for capacity.
type Waiting struct {
	Position  int       `json:"position"`
	Volume    string    `json:"volume"`
	Machine   string    `json:"machine"`
	Toolchain string    `json:"toolchain"`
	Priority  int       `json:"priority"`
	Since     time.Time `json:"since"`
	UID       uint32    `json:"uid"`
	Label     string    `json:"label,omitempty"`
	Reason    string    `json:"reason"`
}

// OpLine is one line of an operator command's streamed answer: progress,
// then either Done or Error with its exit code.
type OpLine struct {
	Progress string `json:"progress,omitempty"`
	Done     string `json:"done,omitempty"`
	Error    string `json:"error,omitempty"`
	Exit     int    `json:"exit,omitempty"`
	// Result comes with Done: what the command did, in full.
	Result *OpResult `json:"result,omitempty"`
}

// Bootstrap is a bootstrap under way: where the client's command works.
type Bootstrap struct {
	Op       uint64 `json:"op"`
	Subvol   string `json:"subvol"`
	Revision uint64 `json:"revision"`
	Machine  string `json:"machine"`
	Volume   string `json:"volume"`
}

// LeaseRef is what a lease argument (a path or snapshot name) refers to:
// the live lease holding it, or, with Ended, the ended lease it was made
// for.
type LeaseRef struct {
	ID      uint64 `json:"id"`
	Ended   bool   `json:"ended,omitempty"`
	Message string `json:"message,omitempty"`
}
