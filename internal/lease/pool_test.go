package lease

import (
	"context"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

type fakePool struct {
	has   bool
	calls []string
}

func (p *fakePool) Take(volume, machine, toolchain, imageUUID, dest string) bool {
	p.calls = append(p.calls, volume+" "+machine+" "+toolchain+" "+imageUUID+" "+dest)
	return p.has
}

// countingDriver counts the snapshots made and the tags written.
type countingDriver struct {
	btrfs.Driver
	snaps, tags []string
}

func (d *countingDriver) Snapshot(_ context.Context, src, dst string, readonly bool) error {
	if readonly {
		panic("an acquire's snapshot must be writable")
	}
	d.snaps = append(d.snaps, src+" "+dst)
	return nil
}

func (d *countingDriver) WriteTag(path, tag string) error {
	d.tags = append(d.tags, path+" "+tag)
	return nil
}

// An acquire takes the pool's snapshot when it has one, and makes its
// own only when it has not, or when there is no pool; either way the
// temporary is tagged.
func TestMakeTempTakesFromThePool(t *testing.T) {
	l := db.Lease{ID: 7, Volume: "default", Machine: "m", Toolchain: "gcc", ImageUUID: "uuid-1",
		Temp: "/v/m/.bmsched-lease-7", Tag: "db=x lease=7 boot=b"}
	for _, tc := range []struct {
		name      string
		pool      *fakePool
		wantSnaps int
	}{
		{"hit", &fakePool{has: true}, 0},
		{"miss", &fakePool{}, 1},
		{"no pool", nil, 1},
	} {
		s := &Scheduler{}
		if tc.pool != nil {
			s.cfg.Pool = tc.pool
		}
		drv := &countingDriver{}
		if err := s.makeTemp(context.Background(), drv, "/v/m/m-gcc", l); err != nil {
			t.Fatal(err)
		}
		if len(drv.snaps) != tc.wantSnaps {
			t.Errorf("%s: snapshots made %v, want %d", tc.name, drv.snaps, tc.wantSnaps)
		}
		if len(drv.tags) != 1 || drv.tags[0] != l.Temp+" "+l.Tag {
			t.Errorf("%s: tags written %q, want the lease's on its temporary", tc.name, drv.tags)
		}
		if tc.pool != nil && (len(tc.pool.calls) != 1 || tc.pool.calls[0] != "default m gcc uuid-1 /v/m/.bmsched-lease-7") {
			t.Errorf("%s: pool asked %q", tc.name, tc.pool.calls)
		}
	}
}
