package server

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

// TestArrayStreamMatchesWriteJSON: a streamed answer is byte for byte
// what writeJSON writes for the same object, empty, with one element and
// with several, with the later fields present and left out.
func TestArrayStreamMatchesWriteJSON(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lease := func(id uint64) api.Lease {
		return api.Lease{ID: id, Volume: "default", Machine: "lin<&>", Snapshot: "s", Created: exp, Expires: &exp,
			Owner: &api.Owner{UID: 1000, Label: "a \"label\""}}
	}
	for _, tc := range []api.Leases{
		{Leases: []api.Lease{}},
		{Leases: []api.Lease{lease(1)}},
		{Leases: []api.Lease{lease(1), lease(2), lease(3)}, Waiting: []api.Waiting{{Machine: "lin", Toolchain: "t"}}},
		{Leases: []api.Lease{}, Waiting: []api.Waiting{{Machine: "lin"}, {Machine: "win"}}},
	} {
		want := httptest.NewRecorder()
		writeJSON(want, tc)
		got := httptest.NewRecorder()
		out := startArray(got, "leases")
		for _, l := range tc.Leases {
			out.add(l)
		}
		out.field("waiting", tc.Waiting, len(tc.Waiting) == 0)
		if err := out.end(); err != nil {
			t.Fatal(err)
		}
		if got.Body.String() != want.Body.String() {
			t.Errorf("streamed:\n%s\nwriteJSON:\n%s", got.Body, want.Body)
		}
		if got.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", got.Header().Get("Content-Type"))
		}
	}
	l := api.List{Machines: []api.Machine{{Name: "a", Revisions: []api.Revision{}}}, Strays: []api.Stray{{Name: "x", Reason: "y"}}, Volumes: []api.Volume{{Name: "default"}}}
	want := httptest.NewRecorder()
	writeJSON(want, l)
	got := httptest.NewRecorder()
	out := startArray(got, "machines")
	out.add(l.Machines[0])
	out.field("strays", l.Strays, false)
	out.field("volumes", l.Volumes, false)
	if err := out.end(); err != nil {
		t.Fatal(err)
	}
	if got.Body.String() != want.Body.String() {
		t.Errorf("streamed list:\n%s\nwriteJSON:\n%s", got.Body, want.Body)
	}
}
