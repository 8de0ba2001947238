package ops

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/proc"
)

// gc abandons a bootstrap whose client is gone, which no watch saw go;
// with --dry-run it only says so. One whose client runs is left alone.
func TestGCAbandonsBootstrapsOfDeadClients(t *testing.T) {
	o, p := newOps(t)
	drv, err := o.driver("default")
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	live, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	clients := []struct {
		pid   int
		start uint64
	}{{dead.Process.Pid, 1}, {os.Getpid(), live}}
	var ops []*db.Op
	for i, c := range clients {
		op := &db.Op{Kind: "bootstrap", Volume: "default", Machine: "lin", Rev: 1, Toolchain: []string{"gcc", "clang"}[i],
			Step: "running", ClientPID: c.pid, ClientStart: c.start, Started: time.Now()}
		if err := o.db.PutOp(op); err != nil {
			t.Fatal(err)
		}
		op.Temp = p.temp("boot", op.ID)
		if err := o.db.PutOp(op); err != nil {
			t.Fatal(err)
		}
		if err := drv.Create(op.Temp); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	acts, err := o.GC(false, true, func(string, ...any) {})
	if err != nil || len(acts) != 1 || !strings.HasPrefix(acts[0], "would abandon bootstrap 1 ") {
		t.Fatalf("gc --dry-run: %q, %v; want one bootstrap it would abandon", acts, err)
	}
	if _, err := os.Lstat(ops[0].Temp); err != nil {
		t.Fatalf("gc --dry-run removed %s: %v", ops[0].Temp, err)
	}
	acts, err = o.GC(false, false, func(string, ...any) {})
	if err != nil || len(acts) != 1 || !strings.HasPrefix(acts[0], "abandoned bootstrap 1 ") {
		t.Fatalf("gc: %q, %v; want bootstrap 1 abandoned", acts, err)
	}
	if _, err := os.Lstat(ops[0].Temp); !os.IsNotExist(err) {
		t.Fatalf("temporary of the dead client's bootstrap is still there: %v", err)
	}
	if _, ok, _ := o.db.Op(ops[0].ID); ok {
		t.Fatal("journal of the abandoned bootstrap not closed")
	}
	if _, err := os.Lstat(ops[1].Temp); err != nil {
		t.Fatalf("temporary of a running client's bootstrap removed: %v", err)
	}
	if _, ok, _ := o.db.Op(ops[1].ID); !ok {
		t.Fatal("bootstrap of a running client ended")
	}
}
