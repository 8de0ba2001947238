package fsscan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/bmsched/bmsched/internal/btrfs"
)

// Prober answers the two questions a scan asks of the storage driver;
// btrfs.Driver satisfies it.
type Prober interface {
	IsSubvolume(path string) (bool, error)
	Info(path string) (btrfs.Info, error)
}

// ReadMachineDir reads the entries of one machine directory for Classify.
// Only directories whose names make them revisions, images or snapshots
// are probed: strays and temporaries may be anything, and probing costs an
// ioctl each. Nothing is descended into and no link is followed.
//
// The warm pool's snapshots (WarmPrefix) are left out: see IsWarmName.
//
// Operators add and remove entries while we read, so an entry that is gone
// by the time it is looked at is left out, as if read a moment later.
func ReadMachineDir(dir string, p Prober) ([]DirEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, pathError("read machine directory", dir, err)
	}
	machine := filepath.Base(dir)
	entries := make([]DirEntry, 0, len(des)+2)
	for _, de := range des {
		if IsWarmName(de.Name()) {
			// The warm pool's, which it counts itself: recording them
			// would make every refill a change of the machine's record.
			continue
		}
		d, err := readEntry(dir, machine, de, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		entries = append(entries, d)
	}
	return lookAgainForLinks(dir, machine, entries, p)
}

// ReadLinks reads the current and transient links of the machine
// directory dir alone, by name, without reading the directory: what a
// link switch changes. A link absent is left out.
func ReadLinks(dir string) ([]DirEntry, error) {
	return lookAgainForLinks(dir, filepath.Base(dir), nil, nil)
}

// lookAgainForLinks looks up the current and transient links by name when
// the directory read did not return them. A read that races the manual's
// `mv -T new-<m> <m>` can miss both names (btrfs, for one, returns no
// entry made after the read began, and the old link is gone by then),
// and a machine read without its link would pass for one being retired.
func lookAgainForLinks(dir, machine string, entries []DirEntry, p Prober) ([]DirEntry, error) {
	for _, name := range []string{machine, TransientName(machine)} {
		if slices.ContainsFunc(entries, func(d DirEntry) bool { return d.Name == name }) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, pathError("look up link", filepath.Join(dir, name), err)
		}
		d, err := readEntry(dir, machine, fs.FileInfoToDirEntry(fi), p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		entries = append(entries, d)
	}
	return entries, nil
}

func readEntry(dir, machine string, de fs.DirEntry, p Prober) (DirEntry, error) {
	path := filepath.Join(dir, de.Name())
	// The type is lstat's, from getdents or (on filesystems that do not
	// report it) from os.ReadDir's own lstat.
	d := DirEntry{Name: de.Name(), Type: entryType(de.Type())}
	switch d.Type {
	case TypeSymlink:
		target, err := os.Readlink(path)
		if err != nil {
			return d, pathError("read link", path, err)
		}
		d.Target = target
	case TypeDir:
		switch ClassifyName(machine, d.Name).Kind {
		case KindRevision, KindImage, KindSnapshot:
		default:
			return d, nil
		}
		sub, err := p.IsSubvolume(path)
		if err != nil {
			return d, pathError("probe subvolume", path, err)
		}
		if !sub {
			return d, nil
		}
		info, err := p.Info(path)
		if err != nil {
			return d, pathError("read subvolume info", path, err)
		}
		d.Subvolume, d.Info = true, info
	}
	return d, nil
}

func entryType(m fs.FileMode) EntryType {
	switch {
	case m.IsDir():
		return TypeDir
	case m&fs.ModeSymlink != 0:
		return TypeSymlink
	case m.IsRegular():
		return TypeFile
	}
	return TypeOther
}

// ScanMachine reads and classifies the machine directory dir, whose base
// name is the machine's name. An invalid name is an error: nothing in the
// directory could be told apart.
func ScanMachine(dir string, p Prober) (Machine, error) {
	name := filepath.Base(dir)
	if err := ValidMachineName(name); err != nil {
		return Machine{}, pathError("scan machine directory", dir, err)
	}
	entries, err := ReadMachineDir(dir, p)
	if err != nil {
		return Machine{}, err
	}
	m := Classify(name, entries)
	m.Dir = dir
	return m, nil
}

// pathError gives err the operation and path of this package, dropping a
// wrapper that only repeats the path (os and the btrfs driver both add one)
// while keeping what it said, so errors.Is still sees the cause.
func pathError(op, path string, err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		if e.Path == path {
			err = e.Err
		}
	case *btrfs.PathError:
		if e.Path == path {
			err = fmt.Errorf("%s: %w", e.Op, e.Err)
		}
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
