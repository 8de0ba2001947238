package db

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// soundFile writes a database with every kind of page bbolt makes:
// branch pages (many events), overflow pages (a large value), a nested
// bucket with a page of its own and an inline one, and free pages.
func soundFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sound.db")
	d, err := Open(path, Options{MaxEvents: 300})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		msg := strings.Repeat("x", 100)
		if i == 7 {
			msg = strings.Repeat("y", 20000)
		}
		if err := d.AppendEvents(Event{Source: "test", Kind: "k", Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	err = d.bolt.Update(func(tx *bolt.Tx) error {
		outer, err := tx.CreateBucket([]byte("nested-test"))
		if err != nil {
			return err
		}
		big, err := outer.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		for i := range 200 {
			if err := big.Put([]byte(fmt.Sprintf("k%04d", i)), bytes.Repeat([]byte("v"), 50)); err != nil {
				return err
			}
		}
		small, err := outer.CreateBucket([]byte("small"))
		if err != nil {
			return err
		}
		return small.Put([]byte("a"), []byte("b"))
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	return path
}

func TestVerifySoundFiles(t *testing.T) {
	paths := []string{soundFile(t), "../../testdata/db/v1.db", "../../testdata/db/v2.db"}
	for _, path := range paths {
		r, err := Verify(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.FellBack != "" {
			t.Fatalf("%s: fell back in a sound file: %s", path, r.FellBack)
		}
		b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		err = b.View(func(tx *bolt.Tx) error {
			if want := tx.Size(); int64(r.Pages)*int64(r.PageSize) != want || r.Txid != uint64(tx.ID()) {
				t.Errorf("%s: Verify saw %d pages of %d at commit %d; bbolt has %d bytes at commit %d",
					path, r.Pages, r.PageSize, r.Txid, want, tx.ID())
			}
			return nil
		})
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// copyWith copies the file at src into a new file, changed by damage.
func copyWith(t *testing.T, src string, damage func(b []byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "damaged.db")
	if err := os.WriteFile(dst, damage(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// openAndRead opens path as db check and then as the daemon would, and
// reads every page; a panic or a fault fails the test by crashing it.
func openAndRead(t *testing.T, path string) (roErr, rwErr error, fellBack string) {
	t.Helper()
	if d, err := Open(path, Options{ReadOnly: true}); err == nil {
		d.Check()
		d.Dump(new(bytes.Buffer))
		fellBack = d.FellBack()
		d.Close()
	} else {
		roErr = err
	}
	if d, err := Open(path, Options{}); err == nil {
		d.Check()
		err = d.AppendEvents(Event{Kind: "after"})
		d.Close()
		rwErr = err
	} else {
		rwErr = err
	}
	return roErr, rwErr, fellBack
}

func TestTruncatedFileIsDamaged(t *testing.T) {
	src := soundFile(t)
	r, err := Verify(src)
	if err != nil {
		t.Fatal(err)
	}
	ps, used := int64(r.PageSize), int64(r.Pages)*int64(r.PageSize)
	for _, size := range []int64{1, 100, ps - 1, ps, ps + 100, 2 * ps, used / 2, used - ps, used - 1} {
		path := copyWith(t, src, func(b []byte) []byte { return b[:size] })
		roErr, rwErr, _ := openAndRead(t, path)
		for _, err := range []error{roErr, rwErr} {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("truncated to %d bytes: open: %v, want ErrDamaged", size, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "bmsched db rebuild --db "+path) || strings.Contains(msg, "\n") {
				t.Fatalf("truncated to %d bytes: message %q does not name the file and the fix on one line", size, msg)
			}
		}
	}
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "the file is empty") {
		t.Fatalf("read-only open of an empty file: %v, want ErrDamaged", err)
	}
	// A daemon makes a new database in an empty file.
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open of an empty file: %v", err)
	}
	d.Close()
}
