package db

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

var garbage = bytes.Repeat([]byte("garbage "), 1<<12)

// TestGarbageInEachPage writes garbage over each page in turn: a meta
// page makes bbolt fall back to the other one, any other page in use is
// damage, and nothing panics or faults.
func TestGarbageInEachPage(t *testing.T) {
	src := soundFile(t)
	r, err := Verify(src)
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for page := range int(r.Pages) {
		path := copyWith(t, src, func(b []byte) []byte {
			copy(b[page*r.PageSize:(page+1)*r.PageSize], garbage)
			return b
		})
		roErr, rwErr, fellBack := openAndRead(t, path)
		switch {
		case page < 2:
			if roErr != nil || rwErr != nil || !strings.Contains(fellBack, "fell back to commit") {
				t.Fatalf("garbage in meta page %d: open %v / %v, fell back %q; want a fall-back", page, roErr, rwErr, fellBack)
			}
		case roErr != nil:
			if !errors.Is(roErr, ErrDamaged) || !errors.Is(rwErr, ErrDamaged) {
				t.Fatalf("garbage in page %d: open %v / %v, want ErrDamaged", page, roErr, rwErr)
			}
			damaged++
		}
	}
	// Most pages of a full database are in use (some are free).
	if damaged < int(r.Pages)/2 {
		t.Fatalf("garbage found in %d of %d pages", damaged, r.Pages)
	}
}

// TestRandomDamageNeverPanics flips random bytes and writes random runs
// over the pages in use: whatever the damage, opening the file as db check
// and as the daemon, and reading every record, either works or says the
// database is damaged; a panic or a fault crashes the test.
func TestRandomDamageNeverPanics(t *testing.T) {
	src := soundFile(t)
	r, err := Verify(src)
	if err != nil {
		t.Fatal(err)
	}
	used := int(r.Pages) * r.PageSize
	rng := rand.New(rand.NewPCG(8, 4))
	rounds, damaged := 200, 0
	if testing.Short() {
		rounds = 50
	}
	for range rounds {
		path := copyWith(t, src, func(b []byte) []byte {
			for range 1 + rng.IntN(8) {
				at := 2*r.PageSize + rng.IntN(used-2*r.PageSize)
				if rng.IntN(2) == 0 {
					b[at] ^= byte(1 + rng.IntN(255))
				} else {
					for i := at; i < min(at+rng.IntN(64), len(b)); i++ {
						b[i] = byte(rng.Uint32())
					}
				}
			}
			return b
		})
		roErr, rwErr, _ := openAndRead(t, path)
		if errors.Is(roErr, ErrDamaged) {
			damaged++
		}
		if (roErr == nil) != (rwErr == nil) && !errors.Is(rwErr, ErrDamaged) && !errors.Is(roErr, ErrDamaged) {
			t.Logf("read-only open %v, open %v", roErr, rwErr)
		}
	}
	if damaged == 0 {
		t.Fatalf("no damage found in %d damaged copies", rounds)
	}
	t.Logf("%d of %d damaged copies refused as damaged", damaged, rounds)
}

// TestMetaHeaderGarbage damages only the header of a meta page (its id,
// its type), which bbolt does not check when it opens the file but
// asserts in its own Check, in a goroutine where nothing can recover.
func TestMetaHeaderGarbage(t *testing.T) {
	src := soundFile(t)
	r, err := Verify(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{0, 1} {
		for _, at := range []int{0, 8} {
			path := copyWith(t, src, func(b []byte) []byte {
				b[page*r.PageSize+at] ^= 0x5a
				return b
			})
			roErr, rwErr, _ := openAndRead(t, path)
			if roErr != nil || rwErr != nil {
				t.Fatalf("header byte %d of meta page %d: open %v / %v; the meta itself is sound", at, page, roErr, rwErr)
			}
		}
	}
}

// TestFreelistListsPageInUse: a freelist that lists a page of the tree
// would make the daemon write over live records, or panic freeing the page
// twice; Open refuses it. bmsched writes no freelist (NoFreelistSync), but
// a file of an older bmsched, or of another bbolt tool, has one.
func TestFreelistListsPageInUse(t *testing.T) {
	src := soundFile(t)
	withFreelist(t, src)
	path := copyWith(t, src, func(b []byte) []byte {
		m := decodeMeta(b, 0)
		if m1 := decodeMeta(b[m.pageSize:], 1); m1.txid > m.txid {
			m = m1
		}
		fl := b[m.freelist*uint64(m.pageSize):]
		if order.Uint16(fl[10:]) == 0 || order.Uint16(fl[10:]) == 0xFFFF {
			t.Fatalf("the sound file has %#x free pages; want some, fewer than 64k", order.Uint16(fl[10:]))
		}
		order.PutUint64(fl[pageHeaderSize:], m.root)
		return b
	})
	roErr, rwErr, _ := openAndRead(t, path)
	for _, err := range []error{roErr, rwErr} {
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "which is in use") {
			t.Fatalf("open: %v, want ErrDamaged naming the page in use", err)
		}
	}
}

// withFreelist commits once with the freelist synced, as bbolt does by
// default, so that the file at path has a freelist page.
func withFreelist(t *testing.T, path string) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("freelist-test"), nil) }); err != nil {
		t.Fatal(err)
	}
}

// TestMissingBucket: damage that renames a bucket in an otherwise sound
// page leaves the daemon without it; Open says the database is damaged.
func TestMissingBucket(t *testing.T) {
	src := soundFile(t)
	path := copyWith(t, src, func(b []byte) []byte {
		// Bucket names are keys in the root bucket's leaf; "eventz"
		// sorts where "events" did.
		m := decodeMeta(b, 0)
		if m1 := decodeMeta(b[m.pageSize:], 1); m1.txid > m.txid {
			m = m1
		}
		root := b[m.root*uint64(m.pageSize) : (m.root+1)*uint64(m.pageSize)]
		i := bytes.Index(root, []byte("events"))
		if i < 0 || order.Uint16(root[8:]) != flagLeaf {
			t.Fatal("the root page is not a leaf holding the events bucket")
		}
		root[i+5] = 'z'
		return b
	})
	_, rwErr, _ := openAndRead(t, path)
	if !errors.Is(rwErr, ErrDamaged) || !strings.Contains(rwErr.Error(), `its "events" bucket is missing`) {
		t.Fatalf("open: %v, want ErrDamaged naming the bucket", rwErr)
	}
}
