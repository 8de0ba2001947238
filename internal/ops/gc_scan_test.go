package ops

import (
	"os"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/lease"
)

// TestGCMachineScanErrors: a machine directory removed since the
// database was read is passed over, while one that cannot be scanned is
// an error naming the machine, not taken for gone.
func TestGCMachineScanErrors(t *testing.T) {
	o, p := newOps(t)
	o.leases = lease.New(lease.Config{}, o.db, o.inv)

	lines, err := o.gcMachine(db.Machine{Volume: "default", Name: "gone"}, nil, false)
	if err != nil || len(lines) != 0 {
		t.Fatalf("gc of a machine whose directory is gone: %q, %v; want nothing, no error", lines, err)
	}

	// A file where the machine directory was: reading it fails with
	// ENOTDIR, which is no sign that the machine is gone.
	if err := os.Remove(p.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err = o.gcMachine(db.Machine{Volume: "default", Name: "lin"}, nil, false)
	if err == nil || !strings.Contains(err.Error(), "gc of default/lin") {
		t.Fatalf("gc of a machine that cannot be scanned: %q, %v; want an error naming default/lin", lines, err)
	}
}
