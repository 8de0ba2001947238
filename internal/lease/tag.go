package lease

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// leaseXattr tags the root of every snapshot bmsched hands out. The tag
// names the database and the lease that made the snapshot, and the boot
// it was made in: recovery deletes a snapshot only when its tag names
// this database and a lease this database ended, and adopts any other.
//
// A daemon running as root writes it in the trusted namespace, which
// only root may change: the build user owns the snapshot's root and could
// otherwise strip the tag (and make release keep the snapshot) or forge
// one. A daemon of another user writes the user namespace, as bmsched
// did before; both are read.
const (
	leaseXattr        = "user.bmsched.lease"
	trustedLeaseXattr = "trusted.bmsched.lease"
)

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
func readTag(path string) (raw string, t tag, ok bool) {
	buf := make([]byte, 256)
	for _, name := range []string{trustedLeaseXattr, leaseXattr} {
		n, err := unix.Lgetxattr(path, name, buf)
		if err != nil {
			continue
		}
		raw = string(buf[:n])
		t, ok = parseTag(raw)
		// An id past any a daemon could have handed out is not a tag of
		// bmsched's: it would run the counter out.
		return raw, t, ok && t.ID < maxLeaseID
	}
	return "", tag{}, false
}

// maxLeaseID bounds the ids bmsched hands out, far above any host's use:
// a tag beyond it is refused rather than let it run the counter out.
const maxLeaseID = 1 << 48

func writeTag(path, raw string) error {
	name := leaseXattr
	if os.Geteuid() == 0 {
		name = trustedLeaseXattr
	}
	if err := unix.Lsetxattr(path, name, []byte(raw), 0); err != nil {
		return &os.PathError{Op: "tag snapshot with its lease (setxattr " + name + ")", Path: path, Err: err}
	}
	return nil
}

// owns reports whether the entry at path is lease id's snapshot: its tag
// is the one the lease recorded, or, for a lease of the older format,
// names its id.
func owns(path string, id uint64, recorded string) bool {
	raw, t, ok := readTag(path)
	if !ok {
		return false
	}
	if recorded != "" {
		return raw == recorded
	}
	return t.DB == "" && t.ID == id
}
