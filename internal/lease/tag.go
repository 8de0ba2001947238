package lease

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// Every snapshot bmsched hands out carries a tag on its root (the driver
// keeps it: btrfs.Driver.WriteTag). The tag names the database and the
// lease that made the snapshot, and the boot it was made in: recovery
// deletes a snapshot only when its tag names this database and a lease
// this database ended, and adopts any other.

// tag is what a snapshot's tag says. DB is "" for the older format,
// which held the bare lease id.
type tag struct {
	DB   string
	ID   uint64
	Boot string
}

func (t tag) String() string {
	return fmt.Sprintf("db=%s lease=%d boot=%s", t.DB, t.ID, t.Boot)
}

// parseTag reads both formats: "db=D lease=N boot=B" and a bare "N".
func parseTag(s string) (tag, bool) {
	if id, err := strconv.ParseUint(s, 10, 64); err == nil {
		return tag{ID: id}, id > 0
	}
	var t tag
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "db":
			t.DB = v
		case "lease":
			id, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return tag{}, false
			}
			t.ID = id
		case "boot":
			t.Boot = v
		}
	}
	return t, t.DB != "" && t.ID > 0
}

// readTag reads the tag of the entry at path, without following a link.
func readTag(drv btrfs.Driver, path string) (raw string, t tag, ok bool) {
	raw, ok = drv.ReadTag(path)
	if !ok {
		return "", tag{}, false
	}
	t, ok = parseTag(raw)
	// An id past any a daemon could have handed out is not a tag of
	// bmsched's: it would run the counter out.
	return raw, t, ok && t.ID < maxLeaseID
}

// maxLeaseID bounds the ids bmsched hands out, far above any host's use:
// a tag beyond it is refused rather than let it run the counter out.
const maxLeaseID = 1 << 48

// owns reports whether the entry at path is lease id's snapshot: its tag
// is the one the lease recorded, or, for a lease of the older format,
// names its id.
func owns(drv btrfs.Driver, path string, id uint64, recorded string) bool {
	raw, t, ok := readTag(drv, path)
	if !ok {
		return false
	}
	if recorded != "" {
		return raw == recorded
	}
	return t.DB == "" && t.ID == id
}

// tempPrefix starts the names of bmsched's temporaries: a lease's
// snapshot is made under .bmsched-lease-N and set aside, when the lease
// ends, under .bmsched-release-N, both in the machine directory.
const (
	tempPrefix  = fsscan.TempPrefix
	leaseTemp   = tempPrefix + "lease-"
	releaseTemp = tempPrefix + "release-"
)

// asidePath is where lease l's snapshot goes when the lease ends: beside
// its final name, on the same filesystem, so that the rename is one step.
func asidePath(l db.Lease) string {
	return filepath.Join(filepath.Dir(l.Path), releaseTemp+strconv.FormatUint(l.ID, 10))
}

// tempID returns the lease id in a temporary's name with the given
// prefix; ok is false for any other name.
func tempID(name, prefix string) (uint64, bool) {
	n, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(n, 10, 64)
	return id, err == nil
}
