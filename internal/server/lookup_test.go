package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// TestLookupsAgreeWithFullScan: list, show and leases, answered through
// the indexes and streamed page by page, are byte for byte what a full
// scan of every record, joined and encoded whole, gives. 600 machines
// cross the page boundary of streamPage more than once.
func TestLookupsAgreeWithFullScan(t *testing.T) {
	s := benchServer(t, 600, 3)
	ms, err := s.db.Machines()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := s.db.Leases()
	if err != nil {
		t.Fatal(err)
	}
	serve := func(target string, h http.HandlerFunc) string {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	encode := func(v any) string {
		rec := httptest.NewRecorder()
		writeJSON(rec, v)
		return rec.Body.String()
	}
	list := api.List{Machines: []api.Machine{}}
	for i := range ms {
		list.Machines = append(list.Machines, machineJSON(&ms[i], ls))
	}
	vs, _ := s.db.Volumes()
	for _, v := range vs {
		list.Volumes = append(list.Volumes, api.Volume{Name: v.Name, State: v.State, FS: v.FS, Type: v.Type, Mount: v.Mount, Since: v.Since})
	}
	if got, want := serve("/v1/machines", s.listMachines), encode(list); got != want {
		t.Errorf("list differs from the full scan (%d bytes, want %d)", len(got), len(want))
	}
	all := api.Leases{Leases: []api.Lease{}}
	for _, l := range ls {
		all.Leases = append(all.Leases, leaseJSON(l))
	}
	if got, want := serve("/v1/leases", s.listLeases), encode(all); got != want {
		t.Errorf("leases differ from the full scan (%d bytes, want %d)", len(got), len(want))
	}
	for _, i := range []int{0, 255, 256, 599} {
		m := ms[i]
		if got, want := serve("/v1/machine?m="+m.Name, s.showMachine), encode(machineJSON(&m, ls)); got != want {
			t.Errorf("show %s:\n%s\nwant:\n%s", m.Name, got, want)
		}
		one := api.List{Machines: []api.Machine{machineJSON(&m, ls)}}
		if got, want := serve("/v1/machines?m="+m.Volume+"/"+m.Name, s.listMachines), encode(one); got != want {
			t.Errorf("list %s:\n%s\nwant:\n%s", m.Name, got, want)
		}
		mine := api.Leases{Leases: []api.Lease{}}
		for _, l := range ls {
			if l.Volume == m.Volume && l.Machine == m.Name {
				mine.Leases = append(mine.Leases, leaseJSON(l))
			}
		}
		if len(mine.Leases) == 0 {
			t.Fatalf("machine %s has no leases: the test shows nothing", m.Name)
		}
		if got, want := serve("/v1/leases?m="+m.Name, s.listLeases), encode(mine); got != want {
			t.Errorf("leases of %s:\n%s\nwant:\n%s", m.Name, got, want)
		}
	}
	// release PATH and release NAME find the live lease through the
	// index of its machine.
	for _, l := range []db.Lease{ls[0], ls[len(ls)/2], ls[len(ls)-1]} {
		for _, ref := range []string{l.Path, l.Snapshot} {
			got, err := s.resolveLeaseRef(ref)
			if err != nil || got.ID != l.ID || got.Ended {
				t.Errorf("lease of %s: %+v, %v; want live lease %d", ref, got, err, l.ID)
			}
		}
	}
	// A machine deleted drops out of every lookup.
	gone := ms[42]
	if err := s.db.UpdateMachine(gone.Volume, gone.Name, func(*db.Machine) (*db.Machine, []db.Event, error) { return nil, nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.resolve(gone.Name); !errkind.Is(err, errkind.NotFound) {
		t.Errorf("resolve %s after its record was deleted: %v, want not found", gone.Name, err)
	}
}
