package db

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/migrations"
)

// TestMigrateStoredDatabases opens a copy of every database of an older
// schema kept in testdata/db (v1.db, v2.db, ...), migrates it, and checks
// that its records survive. A new migration only adds its file there.
func TestMigrateStoredDatabases(t *testing.T) {
	for v := uint64(1); v <= migrations.Latest(); v++ {
		src := filepath.Join("..", "..", "testdata", "db", fmt.Sprintf("v%d.db", v))
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "copy.db")
			copyFile(t, src, path)
			d, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("open stored v%d database: %v", v, err)
			}
			defer d.Close()
			if got, _ := d.SchemaVersion(); got != migrations.Latest() {
				t.Fatalf("after migration: schema %d, want %d", got, migrations.Latest())
			}
			if errs := d.Check(); len(errs) != 0 {
				t.Fatalf("check after migration: %v", errs)
			}
			if !uuidRE.MatchString(d.ID()) {
				t.Fatalf("database identity after migration: %q, want a UUID", d.ID())
			}
			// Every stored database holds the sample machine, a lease and
			// an event (see TestWriteStoredDatabase).
			if _, ok, err := d.Machine("default", "linux-gcc_6"); !ok || err != nil {
				t.Fatalf("sample machine lost: %v", err)
			}
			ls, err := d.Leases()
			if err != nil || len(ls) != 1 || ls[0].Snapshot != "linux-gcc_6-gcc-001" {
				t.Fatalf("sample lease lost: %+v %v", ls, err)
			}
			var dump strings.Builder
			if err := d.Dump(&dump); err != nil || !strings.Contains(dump.String(), "machine-appeared") {
				t.Fatalf("sample event lost: %v\n%s", err, dump.String())
			}
		})
	}
}

// TestWriteStoredDatabase writes testdata/db/vN.db for the current schema
// when BMSCHED_WRITE_DB=1: run it once when adding a migration.
func TestWriteStoredDatabase(t *testing.T) {
	if os.Getenv("BMSCHED_WRITE_DB") != "1" {
		t.Skip("set BMSCHED_WRITE_DB=1 to write testdata/db for the current schema")
	}
	path := filepath.Join("..", "..", "testdata", "db", fmt.Sprintf("v%d.db", migrations.Latest()))
	os.Remove(path)
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.UpdateMachine("default", "linux-gcc_6", func(*Machine) (*Machine, []Event, error) {
		return &Machine{Volume: "default", Name: "linux-gcc_6", Dir: "/build/machines/default/linux-gcc_6", State: "active", Current: 1,
				Revisions: []Revision{{Rev: 1, Subvol: Subvol{UUID: "2aa66d2b-3173-2943-95f6-adfae47a753f", Readonly: true}}},
				Images:    []Image{{Toolchain: "gcc", BaseRevision: 1, Subvol: Subvol{UUID: "1f531a47-91e6-8c4a-a342-fc144199c111", ParentUUID: "2aa66d2b-3173-2943-95f6-adfae47a753f", Readonly: true}}}},
			[]Event{{Source: "scan", Kind: "machine-appeared", Volume: "default", Machine: "linux-gcc_6", Message: "machine default/linux-gcc_6 appeared (active)"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PutLeaseForTest(Lease{ID: 1, Volume: "default", Machine: "linux-gcc_6", Toolchain: "gcc", Snapshot: "linux-gcc_6-gcc-001",
		Path: "/build/machines/default/linux-gcc_6/linux-gcc_6-gcc-001", State: LeaseActive, BootID: "0"}); err != nil {
		t.Fatal(err)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestIdentity: each database gets its own identity at creation, and
// keeps it across opens; the lease counter only ever rises.
func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(filepath.Join(dir, "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID()
	if err := a.RaiseLeaseCounter(41); err != nil {
		t.Fatal(err)
	}
	if err := a.RaiseLeaseCounter(7); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a, err = Open(filepath.Join(dir, "a.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.ID() != id || !uuidRE.MatchString(id) {
		t.Fatalf("identity %q after reopen, was %q", a.ID(), id)
	}
	if n, _ := a.LeaseCounter(); n != 41 {
		t.Fatalf("lease counter %d, want 41 (raised to 41, never lowered)", n)
	}
	b, err := Open(filepath.Join(dir, "b.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.ID() == id {
		t.Fatalf("two databases share the identity %s", id)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
