package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/proc"
)

// Source is where a new revision comes from: a `btrfs send` stream, or
// an existing subvolume to snapshot.
type Source struct {
	Stream io.Reader // --receive
	From   string    // --from PATH
}

func (s Source) given() bool { return s.Stream != nil || s.From != "" }

// check refuses a --from that is not there, before anything is made.
func (s Source) check() error {
	if s.From == "" {
		return nil
	}
	fi, err := os.Stat(s.From)
	if err != nil {
		return errkind.Errorf(errkind.NotFound, "--from %s: %w", s.From, err)
	}
	if !fi.IsDir() {
		return errkind.Errorf(errkind.Usage, "--from %s: not a directory (give the subvolume to snapshot)", s.From)
	}
	return nil
}

// Owner is who a new revision belongs to; nil for the service user.
type Owner struct{ UID, GID int }

// placeRevision makes <m>-<rev> as the manual does: the subvolume arrives
// under a bmsched temporary, is made writable, chowned and made read-only
// again, and only then is renamed into place without replacing anything.
// op.Step goes "making" -> "placed".
func (o *Ops) placeRevision(ctx context.Context, op *db.Op, p paths, src Source, owner *Owner, progress Progress) error {
	drv, err := o.driver(op.Volume)
	if err != nil {
		return err
	}
	if err := o.journalMaking(op, p, src); err != nil {
		return err
	}
	o.cfg.CrashAt.At(op.Kind + "-start")
	made, err := o.makeRevision(ctx, op, p, drv, src, progress)
	if err != nil {
		return err
	}
	if err := o.ownAndRename(op, drv, made, p.revision(op.Rev), owner); err != nil {
		return err
	}
	o.cfg.CrashAt.At(op.Kind + "-renamed")
	op.Step = "placed"
	if err := o.db.PutOp(op); err != nil {
		return err
	}
	o.cfg.CrashAt.At(op.Kind + "-placed")
	return nil
}

// journalMaking refuses a revision already in place, then records the
// temporary the new one is made under before anything is made.
func (o *Ops) journalMaking(op *db.Op, p paths, src Source) error {
	final := p.revision(op.Rev)
	if _, err := os.Lstat(final); err == nil {
		return errkind.Errorf(errkind.Refused, "revision %d of %s/%s already exists (%s): choose another --rev", op.Rev, op.Volume, op.Machine, final)
	}
	op.Step = "making"
	if src.Stream != nil {
		op.Temp = p.temp("recv", op.ID)
	} else {
		op.Temp = p.temp("add", op.ID)
	}
	return o.db.PutOp(op)
}

// makeRevision makes the new subvolume under the temporary, from a
// stream or a snapshot, and returns its path.
func (o *Ops) makeRevision(ctx context.Context, op *db.Op, p paths, drv btrfs.Driver, src Source, progress Progress) (string, error) {
	if src.Stream == nil {
		if err := drv.Snapshot(ctx, src.From, op.Temp, false); err != nil {
			return "", fmt.Errorf("snapshot --from: %w", err)
		}
		return op.Temp, nil
	}
	if drv.Name() != "btrfs" {
		return "", errkind.Errorf(errkind.Refused, "--receive needs a btrfs volume; %s is on plain directories: use --from PATH", p.dir)
	}
	return receive(ctx, op.Temp, src.Stream, progress, func(pid int) error {
		op.ReceivePID = pid
		op.ReceiveStart, _ = proc.StartTime(pid)
		return o.db.PutOp(op)
	})
}

// ownAndRename does the manual's ownership steps on made: writable,
// chown, read-only. The rename to final goes between, while it is
// writable: the kernel refuses to move a read-only subvolume to another
// directory (as out of a receive directory).
func (o *Ops) ownAndRename(op *db.Op, drv btrfs.Driver, made, final string, owner *Owner) error {
	uid, gid := o.cfg.UID, o.cfg.GID
	if owner != nil {
		uid, gid = owner.UID, owner.GID
	}
	if err := drv.SetReadOnly(made, false); err != nil {
		return err
	}
	if err := os.Lchown(made, uid, gid); err != nil {
		return fmt.Errorf("chown revision: %w", err)
	}
	o.cfg.CrashAt.At(op.Kind + "-made")
	if err := renameNoReplace(made, final); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return errkind.Errorf(errkind.Refused, "revision %d of %s/%s appeared meanwhile (%s): choose another --rev", op.Rev, op.Volume, op.Machine, final)
		}
		return err
	}
	if err := drv.SetReadOnly(final, true); err != nil {
		// It was renamed without replacing anything, so it is ours to take
		// back: no writable revision is left in place.
		if derr := drv.Delete(context.Background(), final); derr != nil {
			return fmt.Errorf("%w (and deleting the unfinished revision %s: %v)", err, final, derr)
		}
		return err
	}
	if made != op.Temp {
		if err := os.Remove(op.Temp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove receive directory: %w", err)
		}
	}
	return nil
}

// removeTemp deletes a command's temporary: a subvolume, or a receive
// directory holding at most the subvolumes that `btrfs receive` made.
func (o *Ops) removeTemp(volume, temp string) error {
	if temp == "" {
		return nil
	}
	drv, err := o.driver(volume)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(temp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("remove temporary %s: not a directory; remove it by hand", temp)
	}
	if sub, err := drv.IsSubvolume(temp); err == nil && sub {
		return drv.Delete(context.Background(), temp)
	}
	ents, err := os.ReadDir(temp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		path := filepath.Join(temp, e.Name())
		if sub, err := drv.IsSubvolume(path); err == nil && sub {
			if err := drv.Delete(context.Background(), path); err != nil {
				return err
			}
		}
	}
	// Anything else in it was not made by bmsched: Remove fails, and says so.
	if err := os.Remove(temp); err != nil {
		return fmt.Errorf("remove temporary: %w", err)
	}
	return nil
}

func renameNoReplace(from, to string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// switchLink points the current link at rev atomically, as the manual
// does: a new link beside it, renamed over it.
func switchLink(p paths, rev uint64) error {
	target := filepath.Base(p.revision(rev))
	tmp := p.transient()
	if fi, err := os.Lstat(tmp); err == nil {
		if fi.Mode()&fs.ModeSymlink == 0 {
			return errkind.Errorf(errkind.Refused, "%s exists and is not a link: remove it by hand", tmp)
		}
		// A link left by an interrupted switch; replacing it loses nothing.
		if err := os.Remove(tmp); err != nil {
			return err
		}
	}
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("switch current link: %w", err)
	}
	if err := os.Rename(tmp, p.link()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("switch current link: %w", err)
	}
	return nil
}

// renamedIntoPlace tells whether a command that crashed before recording
// "placed" had already renamed its revision into place: the revision
// exists and the temporary is gone (or, for a receive, holds nothing). It
// was checked absent at the start and renamed without replacing, so then
// it is the command's own.
func (o *Ops) renamedIntoPlace(op *db.Op) bool {
	p := o.paths(op.Volume, op.Machine)
	if _, err := os.Lstat(p.revision(op.Rev)); err != nil {
		return false
	}
	ents, err := os.ReadDir(op.Temp)
	return errors.Is(err, fs.ErrNotExist) || (err == nil && len(ents) == 0 && op.Temp != p.temp("add", op.ID))
}

// sealRevision makes sure the revision a command placed is read-only: a
// crash may have come between its rename and its last flag change.
func (o *Ops) sealRevision(op *db.Op) error {
	drv, err := o.driver(op.Volume)
	if err != nil {
		return err
	}
	return drv.SetReadOnly(o.paths(op.Volume, op.Machine).revision(op.Rev), true)
}
