package lease

import (
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
)

type fakePool struct {
	has   bool
	calls []string
}

func (p *fakePool) Take(volume, machine, toolchain, imageUUID, dest string) bool {
	p.calls = append(p.calls, volume+" "+machine+" "+toolchain+" "+imageUUID+" "+dest)
	return p.has
}

// countingDriver counts the snapshots made.
type countingDriver struct {
	btrfs.Driver
	snaps []string
}

func (d *countingDriver) Snapshot(src, dst string, readonly bool) error {
	if readonly {
		panic("an acquire's snapshot must be writable")
	}
	d.snaps = append(d.snaps, src+" "+dst)
	return nil
}

// An acquire takes the pool's snapshot when it has one, and makes its
// own only when it has not, or when there is no pool.
func TestSnapshotToTakesFromThePool(t *testing.T) {
	req := Request{Volume: "default", Machine: "m", Toolchain: "gcc"}
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
		if err := s.snapshotTo(drv, req, "/v/m/m-gcc", "uuid-1", "/v/m/.bmsched-lease-7"); err != nil {
			t.Fatal(err)
		}
		if len(drv.snaps) != tc.wantSnaps {
			t.Errorf("%s: snapshots made %v, want %d", tc.name, drv.snaps, tc.wantSnaps)
		}
		if tc.pool != nil && (len(tc.pool.calls) != 1 || tc.pool.calls[0] != "default m gcc uuid-1 /v/m/.bmsched-lease-7") {
			t.Errorf("%s: pool asked %q", tc.name, tc.pool.calls)
		}
	}
}
