package api

import "time"

// Status is the answer to `bmsched status`: what the daemon is, holds
// and has been through. Fields may be added, never renamed.
type Status struct {
	Version string    `json:"version"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Uptime is in seconds, for scripts; the CLI prints it rounded.
	Uptime   float64 `json:"uptime_seconds"`
	Machines string  `json:"machines_root"`
	Socket   string  `json:"socket"`
	// MetricsListen is the TCP address of serve --metrics-listen, as
	// bound (a port 0 resolved); empty when off.
	MetricsListen string         `json:"metrics_listen,omitempty"`
	BootID        string         `json:"boot_id"`
	Volumes       []VolumeStatus `json:"volumes"`
	Database      DBStatus       `json:"database"`
	// MachineStates and LeaseStates count by state, every known state
	// present even at zero.
	MachineStates map[string]int `json:"machines"`
	ImagesStale   int            `json:"images_stale"`
	LeaseStates   map[string]int `json:"leases"`
	Waiting       int            `json:"waiting"`
	Holds         []Hold         `json:"holds"`
	Watcher       WatcherStatus  `json:"watcher"`
	// LastGC is the last gc run since start; null when none ran.
	LastGC *GCRun `json:"last_gc"`
	// Errors is the last error of each kind since start ("recovery",
	// "watch", "rescan", "release", "acquire", "gc", "volume").
	Errors map[string]LastError `json:"errors"`
	// Warm is the warm pool; absent when the daemon keeps none.
	Warm *WarmStatus `json:"warm,omitempty"`
}

// WarmStatus is the warm pool (serve --warm): its configuration, what it
// holds now, and its counts since start.
type WarmStatus struct {
	PerImage int      `json:"per_image"`     // serve --warm
	For      []string `json:"for,omitempty"` // serve --warm-for, as given
	Idle     float64  `json:"idle_seconds"`  // serve --warm-idle
	Images   int      `json:"images"`        // images with a pool (acquired lately)
	Ready    int      `json:"ready"`         // snapshots ready
	Hits     uint64   `json:"hits"`          // acquires that took a ready snapshot
	Misses   uint64   `json:"misses"`        // acquires of a pooled image that made their own
	Refills  uint64   `json:"refills"`       // snapshots the pool made
	Drained  uint64   `json:"drained"`       // ready snapshots removed unused
}

// VolumeStatus is one volume, its state and its storage driver.
type VolumeStatus struct {
	Name   string `json:"name"`
	State  string `json:"state"`            // "available" or "unavailable"
	Driver string `json:"driver,omitempty"` // "btrfs" or "plain"; empty when none could be chosen
	Error  string `json:"error,omitempty"`  // why it is unavailable, or has no driver
}

// DBStatus is the database file.
type DBStatus struct {
	Path    string `json:"path"`
	Size    int64  `json:"size_bytes"`
	Commits uint64 `json:"commits"` // since the daemon started
}

// Hold is a lease released with --hold, its snapshot kept for debugging.
type Hold struct {
	Lease   uint64     `json:"lease"`
	Machine string     `json:"machine"` // VOLUME/NAME
	Path    string     `json:"path"`
	Until   *time.Time `json:"until"`
}

// WatcherStatus is what the filesystem watcher has been through since
// the daemon started.
type WatcherStatus struct {
	Watches   int `json:"watches"`
	Events    int `json:"events"`
	Overflows int `json:"overflows"`
	Errors    int `json:"errors"`
	Unwatched int `json:"unwatched"`
	// Rescans counts the full rescans; LastRescan is the newest, null
	// before the first.
	Rescans    int     `json:"rescans"`
	LastRescan *Rescan `json:"last_rescan"`
}

// Rescan is one full rescan of the machines root.
type Rescan struct {
	Time     time.Time `json:"time"` // when it ended
	Source   string    `json:"source"`
	Duration float64   `json:"duration_seconds"`
	Error    string    `json:"error,omitempty"`
}

// GCRun is one run of gc.
type GCRun struct {
	Time    time.Time `json:"time"` // when it ended
	Boot    bool      `json:"boot"`
	DryRun  bool      `json:"dry_run"`
	Actions int       `json:"actions"`
	Kept    int       `json:"kept"`
	Error   string    `json:"error,omitempty"`
}

// LastError is the newest error of one kind.
type LastError struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
	Count   int       `json:"count"` // errors of this kind since start
}
