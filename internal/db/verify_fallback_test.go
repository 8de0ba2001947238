package db

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// garbleNewestMeta writes over the meta record of the meta page with the
// higher commit id, as a torn write of the last commit would leave it.
func garbleNewestMeta(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(binary.NativeEndian.Uint32(b[pageHeaderSize+8:]))
	txid := func(page int) uint64 { return binary.NativeEndian.Uint64(b[page*ps+pageHeaderSize+48:]) }
	at := 0
	if txid(1) > txid(0) {
		at = ps
	}
	copy(b[at+pageHeaderSize:at+pageHeaderSize+metaSize], garbage)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFallBackIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"first", "newest"} {
		if err := d.AppendEvents(Event{Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	if d.FellBack() != "" {
		t.Fatalf("fell back in a sound file: %s", d.FellBack())
	}
	d.Close()
	garbleNewestMeta(t, path)

	d, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open with one meta page sound: %v", err)
	}
	if fb := d.FellBack(); !strings.Contains(fb, "is invalid (not a bbolt meta page (bad magic)), so bbolt fell back to commit") {
		t.Fatalf("FellBack = %q", fb)
	}
	// The newest commit is the one lost.
	es, err := d.Events(0, 0)
	if err != nil || len(es) != 1 || es[0].Kind != "first" {
		t.Fatalf("events after the fall-back: %+v, %v; want the first only", es, err)
	}
	if errs := d.Check(); len(errs) != 0 {
		t.Fatalf("check of the commit fallen back to: %v", errs)
	}
	d.Close()

	// A writer's next commit rewrites the damaged page.
	d, err = Open(path, Options{})
	if err != nil || d.FellBack() == "" {
		t.Fatalf("open for writing: %v, fell back %q", err, d.FellBack())
	}
	if err := d.AppendEvents(Event{Kind: "after"}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if fb := d.FellBack(); fb != "" {
		t.Fatalf("still fell back after a commit: %s", fb)
	}
}
