package db

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bmsched/bmsched/migrations"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	d, err := Open(filepath.Join(t.TempDir(), "b.db"), Options{MaxEvents: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenMigratesNewFile(t *testing.T) {
	d := openTemp(t)
	v, err := d.SchemaVersion()
	if err != nil || v != migrations.Latest() {
		t.Fatalf("schema version = %d, %v; want %d", v, err, migrations.Latest())
	}
	if errs := d.Check(); len(errs) != 0 {
		t.Fatalf("check of a new database: %v", errs)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	start := time.Now()
	_, err = Open(path, Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrHeld) {
		t.Fatalf("second open: %v, want ErrHeld", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("second open took %v", time.Since(start))
	}
	if _, err := Open(path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrHeld) {
		t.Fatalf("read-only open while held: %v, want ErrHeld", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, u64(migrations.Latest()+1))
	})
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		if _, err := Open(path, Options{ReadOnly: ro}); !errors.Is(err, ErrTooNew) {
			t.Fatalf("open (read-only %v) of a newer schema: %v, want ErrTooNew", ro, err)
		}
	}
}

func TestEventLogIsBounded(t *testing.T) {
	d := openTemp(t)
	for i := 0; i < 12; i++ {
		if err := d.AppendEvents(Event{Source: "test", Kind: "k", Message: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := d.Events(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 || es[0].Seq != 8 || es[4].Seq != 12 {
		t.Fatalf("events after 12 appends with max 5: %+v", es)
	}
	last, _ := d.LastEvents(2)
	if len(last) != 2 || last[0].Seq != 11 || last[1].Seq != 12 {
		t.Fatalf("last 2 events: %+v", last)
	}
}

func TestUpdateMachine(t *testing.T) {
	d := openTemp(t)
	put := func(old *Machine) (*Machine, []Event, error) {
		if old != nil {
			t.Fatalf("old record %+v, want none", old)
		}
		return &Machine{Volume: "v", Name: "m", State: "pending"}, []Event{{Kind: "machine-appeared"}}, nil
	}
	if err := d.UpdateMachine("v", "m", put); err != nil {
		t.Fatal(err)
	}
	m, ok, err := d.Machine("v", "m")
	if err != nil || !ok || m.State != "pending" {
		t.Fatalf("Machine = %+v %v %v", m, ok, err)
	}
	drop := func(old *Machine) (*Machine, []Event, error) {
		if old == nil || old.State != "pending" {
			t.Fatalf("old record %+v", old)
		}
		return nil, nil, nil
	}
	if err := d.UpdateMachine("v", "m", drop); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.Machine("v", "m"); ok {
		t.Fatal("record still there after delete")
	}
	if es, _ := d.Events(0, 0); len(es) != 1 || es[0].Kind != "machine-appeared" {
		t.Fatalf("events: %+v", es)
	}
}
