package db

import (
	"errors"
	"fmt"
	"os"
)

// ErrDamaged is matched (errors.Is) by every error that says the database
// file is damaged: truncated, garbage in its pages, or pages that bbolt
// cannot read.
var ErrDamaged = errors.New("database is damaged")

// DamagedError names a damaged database file, what is wrong with it, and
// how to recover: a new database built from the volumes.
type DamagedError struct {
	Path     string
	Problem  string
	Machines string // the machines root for the fix, when known
}

func (e *DamagedError) Error() string {
	root := e.Machines
	if root == "" {
		root = "DIR"
	}
	return fmt.Sprintf("database %s is damaged: %s; rebuild it from the volumes with `bmsched db rebuild --db %s --machines %s --force` (the damaged file is kept beside the new one)",
		e.Path, e.Problem, e.Path, root)
}

func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// FileReport is what Verify found in a sound file.
type FileReport struct {
	Size     int64
	PageSize int
	Pages    uint64 // the high-water mark of the meta in use
	Txid     uint64 // the commit that bbolt opens
	// FellBack, when not empty, says that one meta page is invalid, so
	// bbolt opens the commit of the other: the newest commit may be lost.
	FellBack string
	// checkable: both meta pages have sound headers, which bbolt's own
	// Check asserts (in a goroutine of its own, where nothing can
	// recover its panic).
	checkable bool
}

// Verify checks the database file at path as bbolt will read it, without
// mapping it: both meta pages, the file's size against the high-water
// mark of the meta in use, and every page reachable from it. A damaged
// file gives a *DamagedError.
func Verify(path string) (FileReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileReport{}, fmt.Errorf("read database %s: %w", path, err)
	}
	defer f.Close()
	return verifyFile(f, path)
}

func verifyFile(f *os.File, path string) (FileReport, error) {
	damaged := func(format string, a ...any) (FileReport, error) {
		return FileReport{}, &DamagedError{Path: path, Problem: fmt.Sprintf(format, a...)}
	}
	st, err := f.Stat()
	if err != nil {
		return FileReport{}, fmt.Errorf("read database %s: %w", path, err)
	}
	if st.Size() == 0 {
		return damaged("the file is empty")
	}
	m0, m1, err := readMetas(f, st.Size())
	if err != nil {
		return FileReport{}, fmt.Errorf("read database %s: %w", path, err)
	}
	if m0.err != "" && m1.err != "" {
		return damaged("both meta pages are invalid (page 0: %s; page 1: %s)", m0.err, m1.err)
	}
	use, other := m0, m1
	if use.err != "" || (other.err == "" && other.txid > use.txid) {
		use, other = m1, m0
	}
	ps := uint64(use.pageSize)
	switch {
	case !validPageSize(use.pageSize):
		return damaged("meta page %d gives a page size of %d bytes", use.page, ps)
	case use.pgid < 2 || use.root < 2 || use.root >= use.pgid:
		return damaged("meta page %d puts the root at page %d of %d", use.page, use.root, use.pgid)
	case use.freelist != noFreelist && (use.freelist < 2 || use.freelist >= use.pgid):
		return damaged("meta page %d puts the freelist at page %d of %d", use.page, use.freelist, use.pgid)
	case uint64(st.Size())/ps < use.pgid:
		return damaged("truncated: %d bytes, but commit %d uses %d pages of %d bytes (%d bytes)",
			st.Size(), use.txid, use.pgid, ps, use.pgid*ps)
	}
	w := &pageWalk{f: f, pageSize: ps, hwm: use.pgid, seen: map[uint64]bool{}}
	if err := w.run(use); err != nil {
		return damaged("%v", err)
	}
	r := FileReport{Size: st.Size(), PageSize: int(ps), Pages: use.pgid, Txid: use.txid,
		checkable: use.headerOK && other.headerOK}
	if other.err != "" {
		r.FellBack = fmt.Sprintf("meta page %d is invalid (%s), so bbolt fell back to commit %d in meta page %d: the newest commit may be lost",
			other.page, other.err, use.txid, use.page)
	}
	return r, nil
}
