// Package volume knows which filesystem each machine volume is, and
// notices when that changes: a volume mounted after the daemon started,
// unmounted under it, or replaced by another filesystem. Missing content
// on a volume that is not the filesystem bmsched knew is never deletion.
package volume

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// IDFile is the file that gives a volume that is not btrfs an identity,
// written at first sight: st_dev is not stable across mounts.
const IDFile = ".bmsched-volume-id"

// Identity is what a volume's directory is, as last probed.
type Identity struct {
	// FS names the filesystem: "btrfs:<filesystem UUID>/<subvolume
	// UUID>/<inode>" (btrfs.DirIdentity), or, for a
	// mount of another filesystem, "id:<UUID from IDFile>"; "" for a
	// directory of that kind that is not a mount, and when the directory
	// is gone.
	FS string `json:"fs,omitempty"`
	// Type is the filesystem's type ("btrfs", "ext4", ...).
	Type string `json:"type"`
	// Mount is true when the directory is the root of a mount.
	Mount bool `json:"mount"`
}

// Probe reads the identity of the volume directory dir. A mounted
// filesystem that is not btrfs and has no IDFile is seen for the first
// time: it gets one.
func Probe(dir string) (Identity, error) {
	var id Identity
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return id, nil
	}
	if err != nil {
		return id, err
	}
	if !fi.IsDir() {
		return id, fmt.Errorf("volume %s is not a directory", dir)
	}
	if id.Mount, err = btrfs.IsMountRoot(dir); err != nil {
		return id, err
	}
	if id.Type, err = btrfs.FSType(dir); err != nil {
		return id, err
	}
	if id.Type == "btrfs" {
		u, err := btrfs.DirIdentity(dir)
		if err != nil {
			return id, err
		}
		id.FS = "btrfs:" + u
		return id, nil
	}
	if !id.Mount {
		// A directory of the filesystem around it: only whether it is
		// still not a mount matters.
		return id, nil
	}
	u, err := readID(dir)
	if errors.Is(err, fs.ErrNotExist) {
		u, err = writeID(dir)
	}
	if err != nil {
		return id, err
	}
	id.FS = "id:" + u
	return id, nil
}

func readID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, IDFile))
	if err != nil {
		return "", err
	}
	u := strings.TrimSpace(string(b))
	if u == "" {
		return "", fmt.Errorf("volume identity %s is empty: remove it, and bmsched writes a new one", filepath.Join(dir, IDFile))
	}
	return u, nil
}

// writeID writes a new identity, durably, without replacing one that
// appeared meanwhile.
func writeID(dir string) (string, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	u := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	path := filepath.Join(dir, IDFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return readID(dir)
	}
	if err != nil {
		return "", fmt.Errorf("write volume identity: %w (bmsched names a mounted filesystem that is not btrfs by this file; if it is mounted read-only, create it once: uuidgen > %s)", err, path)
	}
	_, err = f.WriteString(u + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write volume identity: %w (bmsched names a mounted filesystem that is not btrfs by this file; if it is mounted read-only, create it once: uuidgen > %s)", err, path)
	}
	return u, nil
}

// Change is how a volume's identity moved between two probes.
type Change int

const (
	Same        Change = iota // the filesystem bmsched knew
	Unavailable               // it went away: unmounted, or its directory uncovered or gone
	Appeared                  // a filesystem was mounted where none was
	Replaced                  // another filesystem than the one bmsched knew
)

func (c Change) String() string {
	return [...]string{"same", "unavailable", "appeared", "replaced"}[c]
}

// Compare says how now differs from known, the identity last recorded
// while the volume was available. Only a mount has a filesystem of its
// own to lose or replace: a volume that is a directory of the
// filesystem around it stays the same (its machines go when it goes).
func Compare(known, now Identity) Change {
	switch {
	case known.Mount && !now.Mount:
		return Unavailable
	case !known.Mount && now.Mount:
		return Appeared
	case known.Mount && now.FS != known.FS:
		return Replaced
	}
	return Same
}
