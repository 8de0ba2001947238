package btrfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Snapshot copies the marked directory src to dst, marking the copy with a
// new UUID, src's UUID as its parent and, if asked, read-only.
//
// The copy is made under a hidden temporary name next to dst and renamed
// into place only when complete and marked, so dst never exists half-made:
// a crash leaves a stray temporary, never a truncated image under a real
// name.
// CopyTempPrefix starts the name of a plain snapshot being copied.
const CopyTempPrefix = ".bmsched-copy-"

func (Plain) Snapshot(ctx context.Context, src, dst string, readonly bool) error {
	const op = "snapshot"
	src, dst = filepath.Clean(src), filepath.Clean(dst)
	srcUUID, err := plainUUID(src)
	if err != nil {
		return pathError(op, src, err)
	}
	// Fail before copying what may be gigabytes, not after.
	if _, err := os.Lstat(dst); err == nil {
		return pathError(op, dst, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return pathError(op, dst, err)
	}
	// The name is one of bmsched's own temporaries in the layout's
	// grammar (design §1), so that a copy a crash interrupted is known
	// for what it is and removed at the next start.
	tmp, err := os.MkdirTemp(filepath.Dir(dst), CopyTempPrefix)
	if err != nil {
		return pathError(op, dst, err)
	}
	if err := fillSnapshot(ctx, src, tmp, srcUUID, readonly); err != nil {
		os.RemoveAll(tmp)
		return pathError(op, dst, err)
	}
	if err := renameNoReplace(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return pathError(op, dst, err)
	}
	return nil
}

// fillSnapshot copies src's contents into the empty directory tmp and
// marks tmp as a snapshot of the directory whose UUID is srcUUID.
func fillSnapshot(ctx context.Context, src, tmp, srcUUID string, readonly bool) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := (treeCopy{ctx: ctx, into: tmp}).dir(src, tmp, fi); err != nil {
		return err
	}
	if err := setxattr(tmp, xattrParent, srcUUID); err != nil {
		return err
	}
	if readonly {
		if err := setxattr(tmp, xattrReadonly, "1"); err != nil {
			return err
		}
	}
	// The mark goes last: whatever lacks it is not a finished snapshot.
	return setxattr(tmp, xattrUUID, newUUID())
}

// treeCopy copies a directory tree into into, a new directory which may
// itself be inside the tree (a snapshot made within its source) and is
// then left out, as btrfs leaves a snapshot out of itself.
type treeCopy struct {
	ctx  context.Context // a copy of gigabytes stops with its caller
	into string
}

// dir copies the contents of directory src into the existing directory
// dst, then gives dst src's owner and mode (last, so that a read-only mode
// does not stop the copy).
func (c treeCopy) dir(src, dst string, fi fs.FileInfo) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := c.entry(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return chownChmod(dst, fi)
}

// entry copies one directory entry, whatever its type.
func (c treeCopy) entry(src, dst string) error {
	if src == c.into {
		return nil
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch fi.Mode().Type() {
	case fs.ModeDir:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		// A nested marked directory becomes an empty directory, as a
		// nested subvolume does in a btrfs snapshot, so that both drivers
		// give the scheduler the same trees.
		if _, err := plainUUID(src); err == nil {
			return chownChmod(dst, fi)
		} else if !errors.Is(err, ErrNotSubvolume) {
			return err
		}
		return c.dir(src, dst, fi)
	case 0:
		return copyFile(src, dst, fi)
	case fs.ModeSymlink:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return lchown(dst, fi)
	case fs.ModeSocket:
		// A socket is a live process's endpoint (a VM's monitor socket,
		// say); a copy of it would be meaningless, so there is none.
		return nil
	default:
		return &fs.PathError{Op: "copy", Path: src, Err: fmt.Errorf("unsupported file type %v", fi.Mode().Type())}
	}
}

// copyFile copies a regular file, sharing its extents (FICLONE) when the
// filesystem can, as xfs and bcachefs can, and copying its bytes when not.
func copyFile(src, dst string, fi fs.FileInfo) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if unix.IoctlFileClone(int(out.Fd()), int(in.Fd())) != nil {
		// Any failure (EOPNOTSUPP on ext4, EXDEV, EINVAL) means: copy.
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
	}
	return chownChmod(dst, fi)
}

// chownChmod gives path (not a symlink) the owner and mode of fi, in that
// order because chown clears the setuid and setgid bits.
func chownChmod(path string, fi fs.FileInfo) error {
	if err := lchown(path, fi); err != nil {
		return err
	}
	return os.Chmod(path, fi.Mode())
}

// lchown gives path the owner of fi, so that a copied image stays usable
// by the user its VM runs as.
func lchown(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return os.Lchown(path, int(st.Uid), int(st.Gid))
}

// RemoveCopy removes what a crash left of a plain snapshot being copied
// (a CopyTempPrefix directory): a copy runs inside one request, so after
// a restart every one left is a crash's half copy.
func RemoveCopy(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return pathError("remove interrupted copy", path, fmt.Errorf("%w (remove it by hand once whatever holds it lets go)", err))
	}
	return nil
}
