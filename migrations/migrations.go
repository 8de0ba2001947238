// Package migrations holds bmsched's database schema as an ordered list of
// steps. Each step is frozen once released: it names its buckets and keys
// literally, as they were at that version, so that later code can rename
// things without changing what an old step does.
package migrations

import bolt "go.etcd.io/bbolt"

// Migration moves a database from Version-1 to Version.
type Migration struct {
	Version uint64
	Name    string
	Up      func(tx *bolt.Tx) error
}

// All is every migration, in order; Version is its index plus one.
var All = []Migration{
	{1, "initial schema: meta, machines, leases, events", v1},
	{2, "journal of operator commands", v2},
	{3, "database identity", v3},
	{4, "volumes and their filesystems", v4},
}

// Latest is the schema version this build of bmsched writes.
func Latest() uint64 { return All[len(All)-1].Version }
