package db

import (
	"strings"
	"testing"
)

// TestLeaseIDs: a block is reserved in one commit; a lease is committed
// once under an id of the block; its end raises the issued mark in the
// commit that drops the record, so that ids go on above it after a
// restart; an id outside the block or taken is refused.
func TestLeaseIDs(t *testing.T) {
	d := openTemp(t)
	if issued, reserved, err := d.LeaseIDs(); err != nil || issued != 0 || reserved != 0 {
		t.Fatalf("new database: issued %d, reserved %d, %v; want 0, 0", issued, reserved, err)
	}
	before := d.Commits()
	first, last, err := d.ReserveLeaseIDs(1, 1024)
	if err != nil || first != 1 || last != 1024 {
		t.Fatalf("reserve 1..1024: %d..%d, %v", first, last, err)
	}
	if d.Commits() != before+1 {
		t.Fatalf("a reservation made %d commits, want 1", d.Commits()-before)
	}
	before = d.Commits()
	for _, id := range []uint64{1, 2, 3} {
		if err := d.InsertLease(Lease{ID: id, Volume: "v", Machine: "m", State: LeaseActive}); err != nil {
			t.Fatal(err)
		}
	}
	if d.Commits() != before+3 {
		t.Fatalf("3 inserts made %d commits, want 3", d.Commits()-before)
	}
	if err := d.InsertLease(Lease{ID: 2, Volume: "v", Machine: "m"}); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("insert over lease 2: %v; want refused", err)
	}
	if err := d.InsertLease(Lease{ID: 1025, Volume: "v", Machine: "m"}); err == nil || !strings.Contains(err.Error(), "not reserved") {
		t.Fatalf("insert of an id not reserved: %v; want refused", err)
	}
	before = d.Commits()
	if err := d.EndLeases([]LeaseEnd{{ID: 3}, {ID: 2, Events: []Event{{Source: "lease", Kind: "lease-released", Message: "m"}}}}, 0); err != nil {
		t.Fatal(err)
	}
	if d.Commits() != before+1 {
		t.Fatalf("ending 2 leases made %d commits, want 1", d.Commits()-before)
	}
	issued, reserved, err := d.LeaseIDs()
	if err != nil || issued != 3 || reserved != 1024 {
		t.Fatalf("after ending 2 and 3: issued %d, reserved %d, %v; want 3, 1024", issued, reserved, err)
	}
	for id, want := range map[uint64]bool{1: true, 3: true, 4: false, 1024: false} {
		if got, err := d.LeaseIssued(id); err != nil || got != want {
			t.Errorf("LeaseIssued(%d) = %v, %v; want %v", id, got, err, want)
		}
	}
	// A block asked for below the reserved mark starts above it.
	if first, last, err := d.ReserveLeaseIDs(10, 20); err != nil || first != 1025 || last != 1025 {
		t.Fatalf("reserve 10..20 past 1024: %d..%d, %v; want 1025..1025", first, last, err)
	}
	// Raising the counter for a lost database's ids raises the issued
	// mark with it: ids go on above.
	if err := d.RaiseLeaseCounter(5000); err != nil {
		t.Fatal(err)
	}
	if issued, reserved, _ := d.LeaseIDs(); issued != 5000 || reserved != 5000 {
		t.Fatalf("after raising to 5000: issued %d, reserved %d", issued, reserved)
	}
}

// TestLeaseIDsOfOlderDatabase: a database from before reserved blocks has
// no issued mark; its counter was the highest id handed out, and is.
func TestLeaseIDsOfOlderDatabase(t *testing.T) {
	d := openTemp(t)
	if _, err := d.CreateLease(func(uint64) Lease { return Lease{Volume: "v", Machine: "m"} }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateLease(func(uint64) Lease { return Lease{Volume: "v", Machine: "m"} }); err != nil {
		t.Fatal(err)
	}
	if issued, reserved, err := d.LeaseIDs(); err != nil || issued != 2 || reserved != 2 {
		t.Fatalf("issued %d, reserved %d, %v; want 2, 2", issued, reserved, err)
	}
	if _, _, err := d.ReserveLeaseIDs(3, 10); err != nil {
		t.Fatal(err)
	}
	if issued, reserved, _ := d.LeaseIDs(); issued != 2 || reserved != 10 {
		t.Fatalf("after a reservation: issued %d, reserved %d; want 2, 10", issued, reserved)
	}
}
