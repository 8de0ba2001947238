package db

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk layout (go.etcd.io/bbolt/internal/common, meta.go and
// page.go), read here without mapping the file: bbolt trusts its pages and
// dies with a panic or SIGBUS on a truncated file or garbage in a page.
// bbolt writes in the host's byte order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	metaSize       = 64 // magic, version, pageSize, flags u32; root, seq, freelist, pgid, txid, checksum u64
	metaSummed     = 56 // the checksum covers the meta up to itself
	noFreelist     = ^uint64(0)

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10
	leafBucket   = 0x01 // a leaf element whose value is a bucket
)

var order = binary.NativeEndian

// meta is one decoded meta page.
type meta struct {
	page     int // 0 or 1
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64
	pgid     uint64 // high-water mark: pages in use
	txid     uint64
	headerOK bool   // the page header names this page and its type, as bbolt's Check asserts
	err      string // why bbolt would reject it; "" when valid
}

func decodeMeta(buf []byte, page int) meta {
	m := meta{page: page}
	if len(buf) < pageHeaderSize+metaSize {
		m.err = "cut short by the end of the file"
		return m
	}
	m.headerOK = order.Uint64(buf) == uint64(page) && order.Uint16(buf[8:]) == flagMeta
	b := buf[pageHeaderSize : pageHeaderSize+metaSize]
	m.pageSize = order.Uint32(b[8:])
	m.root = order.Uint64(b[16:])
	m.freelist = order.Uint64(b[32:])
	m.pgid = order.Uint64(b[40:])
	m.txid = order.Uint64(b[48:])
	h := fnv.New64a()
	h.Write(b[:metaSummed])
	switch {
	case order.Uint32(b[0:]) != boltMagic:
		m.err = "not a bbolt meta page (bad magic)"
	case order.Uint32(b[4:]) != boltVersion:
		m.err = fmt.Sprintf("bbolt format version %d, not %d", order.Uint32(b[4:]), boltVersion)
	case order.Uint64(b[metaSummed:]) != h.Sum64():
		m.err = "checksum mismatch"
	}
	return m
}

// readMetas reads both meta pages as bbolt finds them: page 0 at the
// start; page 1 one page further, at the page size that page 0 gives or,
// when page 0 is invalid, at the first power of two from 1 KiB whose page
// holds a valid meta for that size.
func readMetas(f *os.File, size int64) (m0, m1 meta, err error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	read := func(off int64, page int) (meta, error) {
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return meta{}, err
		}
		return decodeMeta(buf[:n], page), nil
	}
	if m0, err = read(0, 0); err != nil {
		return m0, m1, err
	}
	if m0.err == "" && validPageSize(m0.pageSize) {
		m1, err = read(int64(m0.pageSize), 1)
		return m0, m1, err
	}
	// Without a size from page 0, the reason given for page 1 is the one
	// at the host's page size, bbolt's default.
	if m1, err = read(int64(os.Getpagesize()), 1); err != nil {
		return m0, m1, err
	}
	for ps := int64(1024); ps <= 1<<24 && ps < size; ps <<= 1 {
		m, err := read(ps, 1)
		if err != nil {
			return m0, m1, err
		}
		if m.err == "" && int64(m.pageSize) == ps {
			return m0, m, nil
		}
	}
	return m0, m1, nil
}

// validPageSize is what bbolt can have written: a power of two from 1 KiB
// to 16 MiB (the sizes bbolt itself probes for).
func validPageSize(ps uint32) bool {
	return ps >= 1024 && ps <= 1<<24 && ps&(ps-1) == 0
}
