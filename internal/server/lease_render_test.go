package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/db"
)

// An entry is made again when, and only when, its record changed, is what
// add would write for the lease, and goes once a listing no longer meets
// its lease.
func TestLeaseRendersFollowTheRecord(t *testing.T) {
	record := func(l db.Lease) []byte {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	l := db.Lease{ID: 7, Volume: "default", Machine: "lin", Toolchain: "gcc", Snapshot: "lin-gcc-007",
		State: db.LeaseActive, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Owner: db.Owner{UID: 1000, Label: "<ci>"}}
	var c leaseRenders
	first, err := c.render(7, record(l))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(leaseJSON(l), "    ", "  ")
	if string(first) != string(want) {
		t.Fatalf("entry:\n%s\nwant what add writes:\n%s", first, want)
	}
	again, _ := c.render(7, record(l))
	if &again[0] != &first[0] {
		t.Error("an unchanged record was rendered again")
	}
	l.State = db.LeaseHeld
	changed, _ := c.render(7, record(l))
	if want, _ := json.MarshalIndent(leaseJSON(l), "    ", "  "); string(changed) != string(want) {
		t.Errorf("after the record changed, entry:\n%s\nwant:\n%s", changed, want)
	}
	c.keepOnly(map[uint64]bool{8: true})
	if len(c.m) != 0 {
		t.Errorf("entries of leases a listing did not meet are kept: %v", c.m)
	}
}
