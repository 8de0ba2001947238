package db

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestIndexesAgreeWithFullScan drives random machine adds, deletes and
// renames and random lease creates, updates and ends, and after each step
// checks that every lookup through the indexes answers what a full scan of
// the records answers; then again after reopening the file.
func TestIndexesAgreeWithFullScan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bmsched.db")
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	vols := []string{"default", "fast", "slow"}
	// Names that share prefixes, so that a prefix scan that runs past
	// its machine shows.
	names := []string{"lin", "lin-gcc", "lin-gcc_6", "win", "w"}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	put := func(vol, name string) {
		t.Helper()
		err := d.UpdateMachine(vol, name, func(*Machine) (*Machine, []Event, error) {
			return &Machine{Volume: vol, Name: name, State: "active"}, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	drop := func(vol, name string) {
		t.Helper()
		if err := d.UpdateMachine(vol, name, func(*Machine) (*Machine, []Event, error) { return nil, nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for step := range 400 {
		vol, name := pick(vols), pick(names)
		ls, err := d.Leases()
		if err != nil {
			t.Fatal(err)
		}
		switch op := rng.IntN(8); {
		case op == 0:
			put(vol, name)
		case op == 1:
			drop(vol, name)
		case op == 2: // a rename: the record moves to another name
			drop(vol, name)
			put(vol, pick(names))
		case op <= 4:
			_, err = d.CreateLease(func(id uint64) Lease {
				return Lease{Volume: vol, Machine: name, Snapshot: fmt.Sprintf("%s-t-%03d", name, id), State: LeaseCreating}
			})
		case op == 5 && len(ls) > 0:
			_, _, err = d.UpdateLease(ls[rng.IntN(len(ls))].ID, func(l *Lease) { l.State = LeaseReleasing })
		case op == 6 && len(ls) > 0:
			err = d.EndLease(ls[rng.IntN(len(ls))].ID)
		case op == 7 && len(ls) > 0:
			err = d.EndLeaseKept(ls[rng.IntN(len(ls))].ID)
		default:
			_, err = d.AdoptLease(uint64(rng.IntN(50)+1), Lease{Volume: vol, Machine: name, State: LeaseOrphaned})
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		checkLookups(t, d, vols, names)
	}
	d.Close()
	if d, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	checkLookups(t, d, vols, names)
}

func checkLookups(t *testing.T, d *DB, vols, names []string) {
	t.Helper()
	ms, err := d.Machines()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := d.Leases()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var want []string
		for _, m := range ms {
			if m.Name == name {
				want = append(want, m.Key())
			}
		}
		got, err := d.MachinesNamed(name)
		if err != nil {
			t.Fatal(err)
		}
		if keys := machineKeys(got); !slices.Equal(keys, want) {
			t.Fatalf("machines named %s: index has %v, records %v", name, keys, want)
		}
		for _, vol := range vols {
			var want []uint64
			for _, l := range ls {
				if l.Volume == vol && l.Machine == name {
					want = append(want, l.ID)
				}
			}
			got, err := d.MachineLeases(vol, name)
			if err != nil {
				t.Fatal(err)
			}
			if ids := leaseIDs(got); !slices.Equal(ids, want) {
				t.Fatalf("leases of %s/%s: index has %v, records %v", vol, name, ids, want)
			}
		}
	}
	if errs := d.Check(); len(errs) != 0 {
		t.Fatalf("check: %v", errs)
	}
}

func machineKeys(ms []Machine) []string {
	var keys []string
	for _, m := range ms {
		keys = append(keys, m.Key())
	}
	return keys
}

func leaseIDs(ls []Lease) []uint64 {
	var ids []uint64
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

// TestIndexDropsRolledBackChanges: a transaction that fails leaves no
// trace in the index, though its function stored a lease before failing,
// as in a round of shared commits where another function fails.
func TestIndexDropsRolledBackChanges(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "bmsched.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.batch(func(tx *bolt.Tx) error {
		if err := d.putLease(tx, &Lease{ID: 7, Volume: "default", Machine: "b"}); err != nil {
			return err
		}
		return errors.New("refused")
	})
	if err == nil {
		t.Fatal("a transaction whose function failed committed")
	}
	d.ix.mu.RLock()
	_, kept := d.ix.leases["default/b"]
	d.ix.mu.RUnlock()
	if kept {
		t.Fatal("the index keeps lease 7 of machine b, whose record never committed")
	}
	// The next transaction, which commits, does not take the failed
	// one's changes with it.
	if err := d.PutLeaseForTest(Lease{ID: 8, Volume: "default", Machine: "c"}); err != nil {
		t.Fatal(err)
	}
	if ls, _ := d.MachineLeases("default", "c"); len(ls) != 1 || ls[0].ID != 8 {
		t.Fatalf("leases of c: %+v, want lease 8", ls)
	}
	d.ix.mu.RLock()
	_, kept = d.ix.leases["default/b"]
	d.ix.mu.RUnlock()
	if kept {
		t.Fatal("lease 7 of the failed transaction reached the index with the next commit")
	}
}

// TestIndexUnderConcurrentWriters: writers sharing commits and readers
// at once (run with -race); once they stop, the index agrees with the
// records.
func TestIndexUnderConcurrentWriters(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "bmsched.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ls, err := d.MachineLeases("default", "a")
			if err != nil {
				t.Error(err)
				return
			}
			for _, l := range ls {
				if l.Machine != "a" {
					t.Errorf("leases of a include %+v", l)
				}
			}
			d.MachinesNamed("a")
		}
	})
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := range 25 {
				l, err := d.CreateLease(func(uint64) Lease { return Lease{Volume: "default", Machine: "a"} })
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == w%2 {
					if err := d.EndLease(l.ID); err != nil {
						t.Error(err)
					}
				}
				if err := d.UpdateMachine("default", "a", func(*Machine) (*Machine, []Event, error) {
					return &Machine{Volume: "default", Name: "a"}, nil, nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	checkLookups(t, d, []string{"default"}, []string{"a"})
	if ls, err := d.MachineLeases("default", "a"); err != nil || len(ls) != 50 {
		t.Fatalf("%d leases of a (%v), want 50 (100 made, 50 ended)", len(ls), err)
	}
}
