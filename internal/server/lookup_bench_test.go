package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/lease"
)

// The lookup benchmarks answer from a database of farm size, written
// directly (no filesystem): 1,000 machines of 2 revisions and 3 images
// each, over two volumes, and 10,000 leases, 10 a machine. Run them with
//
//	go test -run '^$' -bench 'Resolve|List|Show|Leases' -benchtime 20x ./internal/...
const (
	benchMachines = 1000
	benchLeases   = 10
)

func benchMachineName(i int) string { return fmt.Sprintf("linux-gcc_%04d", i) }

func benchVolume(i int) string { return []string{"default", "fast"}[i%2] }

// benchServer is a Server with just what the read handlers use, over a
// database of machines machines with leases leases each.
func benchServer(b testing.TB, machines, leases int) *Server {
	b.Helper()
	dir := b.TempDir()
	d, err := db.Open(filepath.Join(dir, "bmsched.db"), db.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	for i := range machines {
		vol, name := benchVolume(i), benchMachineName(i)
		m := &db.Machine{Volume: vol, Name: name, Dir: filepath.Join("/build/machines", vol, name), State: "active", Current: 2}
		for rev := uint64(1); rev <= 2; rev++ {
			m.Revisions = append(m.Revisions, db.Revision{Rev: rev, Subvol: db.Subvol{UUID: fmt.Sprintf("r%d-%d", i, rev), Readonly: true}})
		}
		for _, t := range []string{"stage", "test", "release"} {
			m.Images = append(m.Images, db.Image{Toolchain: t, BaseRevision: 2, Subvol: db.Subvol{UUID: name + t, Readonly: true}})
		}
		for j := range leases {
			id := uint64(i*leases + j + 1)
			m.Snapshots = append(m.Snapshots, db.Snapshot{Name: fmt.Sprintf("%s-stage-%03d", name, id), Toolchain: "stage", ID: fmt.Sprintf("%03d", id)})
		}
		if err := d.UpdateMachine(vol, name, func(*db.Machine) (*db.Machine, []db.Event, error) { return m, nil, nil }); err != nil {
			b.Fatal(err)
		}
	}
	// Leases in shared commits: ids follow the order of the commits, and
	// each lease names its own machine whatever id it gets.
	var wg sync.WaitGroup
	errs := make(chan error, machines)
	for i := range machines {
		wg.Go(func() {
			vol, name := benchVolume(i), benchMachineName(i)
			for range leases {
				_, err := d.CreateLease(func(id uint64) db.Lease {
					snap := fmt.Sprintf("%s-stage-%03d", name, id)
					return db.Lease{Volume: vol, Machine: name, Toolchain: "stage", Snapshot: snap,
						Path: filepath.Join("/build/machines", vol, name, snap), State: db.LeaseActive,
						Created: time.Unix(1700000000, 0).UTC(), Owner: db.Owner{UID: 1000, PID: 4242, Label: "bench"}}
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	inv, err := inventory.New(dir, d, "plain")
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Server{cfg: Config{Machines: "/build/machines"}, db: d, inv: inv, leases: lease.New(lease.Config{Log: log}, d, inv), log: log}
}

// serveBench runs handler on GET target b.N times.
func serveBench(b *testing.B, handler http.HandlerFunc, target string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		handler(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	s := benchServer(b, benchMachines, benchLeases)
	name := benchMachineName(benchMachines / 2)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m, err := s.resolve(name)
		if err != nil || m.Name != name {
			b.Fatalf("resolve %s: %v, got %s", name, err, m.Name)
		}
	}
}

func BenchmarkList(b *testing.B) {
	s := benchServer(b, benchMachines, benchLeases)
	b.Run("all", func(b *testing.B) { serveBench(b, s.listMachines, "/v1/machines") })
	b.Run("one", func(b *testing.B) { serveBench(b, s.listMachines, "/v1/machines?m="+benchMachineName(7)) })
}

func BenchmarkShow(b *testing.B) {
	s := benchServer(b, benchMachines, benchLeases)
	serveBench(b, s.showMachine, "/v1/machine?m="+benchMachineName(benchMachines/2))
}

func BenchmarkLeases(b *testing.B) {
	s := benchServer(b, benchMachines, benchLeases)
	b.Run("all", func(b *testing.B) { serveBench(b, s.listLeases, "/v1/leases") })
	b.Run("machine", func(b *testing.B) { serveBench(b, s.listLeases, "/v1/leases?m="+benchMachineName(7)) })
}
