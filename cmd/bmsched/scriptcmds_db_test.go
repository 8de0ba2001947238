package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["dbgarble"] = cmdDBGarble
}

// dbgarble FILE newest-meta|PAGE...: overwrite pages of a bbolt file with
// text, as a torn write or a bad disk might. For newest-meta, only the
// meta record of the meta page with the higher commit id is overwritten;
// a numbered page is overwritten whole. The page size is read from meta
// page 0.
func cmdDBGarble(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: dbgarble FILE newest-meta|PAGE...")
	}
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_RDWR, 0)
	ts.Check(err)
	defer f.Close()
	// bbolt's page header is 16 bytes; the meta record follows it:
	// magic, version, page size, ... txid at 48, checksum at 56.
	head := make([]byte, 16+64)
	_, err = f.ReadAt(head, 0)
	ts.Check(err)
	pageSize := int64(binary.NativeEndian.Uint32(head[16+8:]))
	garbage := func(n int64) []byte {
		return bytes.Repeat([]byte("garbage "), int(n/8+1))[:n]
	}
	for _, a := range args[1:] {
		if a == "newest-meta" {
			other := make([]byte, 16+64)
			_, err = f.ReadAt(other, pageSize)
			ts.Check(err)
			at := int64(0)
			if binary.NativeEndian.Uint64(other[16+48:]) > binary.NativeEndian.Uint64(head[16+48:]) {
				at = pageSize
			}
			_, err = f.WriteAt(garbage(64), at+16)
			ts.Check(err)
			continue
		}
		page, err := strconv.ParseInt(a, 10, 64)
		ts.Check(err)
		_, err = f.WriteAt(garbage(pageSize), page*pageSize)
		ts.Check(err)
	}
	ts.Check(f.Sync())
}
