package btrfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// The lease tag on the root of every snapshot bmsched hands out (the
// lease package says what it holds). A daemon running as root writes it
// in the trusted namespace, which only root may change: the build user
// owns the snapshot's root and could otherwise strip the tag (and make
// release keep the snapshot) or forge one. A daemon of another user
// writes the user namespace, as bmsched did before; both are read, the
// trusted one first.
const (
	userTagXattr    = "user.bmsched.lease"
	trustedTagXattr = "trusted.bmsched.lease"
)

// tagMax bounds a tag's length: bmsched's are under 150 bytes.
const tagMax = 256

// readTag returns the tag of the entry at path, not following a link.
func readTag(path string) (string, bool) {
	buf := make([]byte, tagMax)
	for _, name := range []string{trustedTagXattr, userTagXattr} {
		n, err := unix.Lgetxattr(path, name, buf)
		if err == nil {
			return string(buf[:n]), true
		}
	}
	return "", false
}

// writeTag tags the entry at path in the namespace this process may keep.
func writeTag(path, tag string) error {
	name := userTagXattr
	if os.Geteuid() == 0 {
		name = trustedTagXattr
	}
	if err := unix.Lsetxattr(path, name, []byte(tag), 0); err != nil {
		return &PathError{Op: "tag snapshot with its lease (setxattr " + name + ")", Path: path, Err: xattrError(err)}
	}
	return nil
}

// ReadTag returns the lease tag on the entry at path.
func (Btrfs) ReadTag(path string) (string, bool) { return readTag(path) }

// WriteTag tags the entry at path.
func (Btrfs) WriteTag(path, tag string) error { return writeTag(path, tag) }

// ReadTag returns the lease tag on the entry at path.
func (Plain) ReadTag(path string) (string, bool) { return readTag(path) }

// WriteTag tags the entry at path.
func (Plain) WriteTag(path, tag string) error { return writeTag(path, tag) }
