package db

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// pageWalk follows every page that bbolt would read from the meta it uses
// (the root bucket's tree, every nested bucket, the freelist) and checks
// each against what bbolt assumes without checking: page ids below the
// high-water mark, each page reached once, the header's own id, the page
// type, elements inside their page, keys in order, and a freelist that
// lists only pages out of use. bbolt faults or panics on each of these.
type pageWalk struct {
	f        *os.File
	pageSize uint64
	hwm      uint64
	seen     map[uint64]bool
}

// maxDepth bounds nesting (tree levels plus inline buckets); bbolt's
// trees over a file below the high-water mark are far shallower.
const maxDepth = 64

func (w *pageWalk) run(m meta) error {
	if _, err := w.tree(m.root, 0, nil, nil); err != nil {
		return err
	}
	if m.freelist != noFreelist {
		return w.freelist(m.freelist)
	}
	return nil
}

// page reads page id with its overflow pages, once per walk.
func (w *pageWalk) page(id uint64) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("a reference to page %d, outside the pages in use (2 to %d)", id, w.hwm-1)
	}
	head := make([]byte, pageHeaderSize)
	if err := w.read(head, id); err != nil {
		return nil, err
	}
	if got := order.Uint64(head); got != id {
		return nil, fmt.Errorf("page %d (byte %d) holds garbage: its header names page %d", id, id*w.pageSize, got)
	}
	overflow := uint64(order.Uint32(head[12:]))
	if id+overflow >= w.hwm {
		return nil, fmt.Errorf("page %d runs %d pages past the pages in use", id, id+overflow+1-w.hwm)
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i] {
			return nil, fmt.Errorf("page %d is reached twice", i)
		}
		w.seen[i] = true
	}
	buf := make([]byte, (overflow+1)*w.pageSize)
	return buf, w.read(buf, id)
}

func (w *pageWalk) read(buf []byte, id uint64) error {
	_, err := w.f.ReadAt(buf, int64(id*w.pageSize))
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("page %d is cut short by the end of the file", id)
	}
	return err
}

// tree checks the branch or leaf page id and everything below it: its
// keys must be in order and within [lo, hi) (nil for no bound), as
// bbolt's cursors assume; it returns the subtree's greatest key.
func (w *pageWalk) tree(id uint64, depth int, lo, hi []byte) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("page %d is nested more than %d levels deep", id, maxDepth)
	}
	p, err := w.page(id)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("page %d", id)
	switch flags := order.Uint16(p[8:]); flags {
	case flagBranch:
		return w.branch(what, p, depth, lo, hi)
	case flagLeaf:
		return w.leaf(what, p, depth, lo, hi)
	default:
		return nil, fmt.Errorf("%s is neither a branch nor a leaf (flags %#x)", what, flags)
	}
}

func (w *pageWalk) branch(what string, p []byte, depth int, lo, hi []byte) ([]byte, error) {
	keys, err := elements(what, p, false)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("branch %s has no elements", what)
	}
	last := lo
	for i, k := range keys {
		if err := inOrder(what, i, k.key, last, hi); err != nil {
			return nil, err
		}
		next := hi
		if i+1 < len(keys) {
			next = keys[i+1].key
		}
		if last, err = w.tree(k.child, depth+1, k.key, next); err != nil {
			return nil, err
		}
	}
	return last, nil
}

// leaf checks a leaf page (on disk, or inline in its bucket's value) and
// the buckets stored in it.
func (w *pageWalk) leaf(what string, p []byte, depth int, lo, hi []byte) ([]byte, error) {
	keys, err := elements(what, p, true)
	if err != nil {
		return nil, err
	}
	last := lo
	for i, k := range keys {
		if err := inOrder(what, i, k.key, last, hi); err != nil {
			return nil, err
		}
		last = k.key
		if k.bucket {
			if err := w.bucket(what, k.value, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return last, nil
}

// bucket checks a bucket header (root page, sequence) and its tree, which
// for a small bucket is an inline leaf page right after the header.
func (w *pageWalk) bucket(parent string, v []byte, depth int) error {
	if len(v) < 16 {
		return fmt.Errorf("a bucket in %s has a header of %d bytes, not 16", parent, len(v))
	}
	if root := order.Uint64(v); root != 0 {
		_, err := w.tree(root, depth, nil, nil)
		return err
	}
	inline := v[16:]
	if len(inline) < pageHeaderSize || order.Uint16(inline[8:]) != flagLeaf {
		return fmt.Errorf("an inline bucket in %s is not a leaf page", parent)
	}
	if depth > maxDepth {
		return fmt.Errorf("buckets in %s are nested more than %d levels deep", parent, maxDepth)
	}
	_, err := w.leaf("a bucket inline in "+parent, inline, depth, nil, nil)
	return err
}

// freelist checks the freelist page: its type, and that the ids it lists
// fit in it, lie below the high-water mark, once each, and are not pages
// the tree uses (so the tree must be walked first).
func (w *pageWalk) freelist(id uint64) error {
	p, err := w.page(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if flags := order.Uint16(p[8:]); flags != flagFreelist {
		return fmt.Errorf("freelist page %d is not a freelist (flags %#x)", id, flags)
	}
	start, count := uint64(pageHeaderSize), uint64(order.Uint16(p[10:]))
	if count == 0xFFFF {
		// A long list keeps its length in the first element.
		count, start = order.Uint64(p[start:]), start+8
	}
	if count > (uint64(len(p))-start)/8 {
		return fmt.Errorf("freelist page %d claims %d free pages, more than it holds", id, count)
	}
	listed := make(map[uint64]bool, count)
	for i := uint64(0); i < count; i++ {
		free := order.Uint64(p[start+i*8:])
		switch {
		case free < 2 || free >= w.hwm:
			return fmt.Errorf("freelist page %d lists page %d, outside the pages in use (2 to %d)", id, free, w.hwm-1)
		case w.seen[free] || listed[free]:
			// bbolt would hand the page out again, or panic freeing it
			// twice in the daemon's next commit.
			return fmt.Errorf("freelist page %d lists page %d, which is in use or listed twice", id, free)
		}
		listed[free] = true
	}
	return nil
}
