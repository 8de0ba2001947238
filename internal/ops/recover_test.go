package ops

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/proc"
)

// Recovery of an add whose `btrfs receive` still runs waits for the
// receive to be gone before it undoes the add, rather than deleting the
// temporary under it.
func TestRecoverWaitsForReceive(t *testing.T) {
	o, p := newOps(t)
	// Stands in for the receive: it runs a moment, then writes into the
	// temporary; a recovery that did not wait would have removed it, and
	// the write would fail.
	op := &db.Op{Kind: "add", Volume: "default", Machine: "lin", Rev: 1, Step: "making", Started: time.Now()}
	if err := o.db.PutOp(op); err != nil {
		t.Fatal(err)
	}
	op.Temp = p.temp("recv", op.ID)
	if err := os.Mkdir(op.Temp, 0o700); err != nil {
		t.Fatal(err)
	}
	recv := exec.Command("sh", "-c", `sleep 0.3; : > "$1"/written`, "sh", op.Temp)
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- recv.Wait() }()
	op.ReceivePID = recv.Process.Pid
	start, err := proc.StartTime(op.ReceivePID)
	if err != nil {
		t.Fatal(err)
	}
	op.ReceiveStart = start
	if err := o.db.PutOp(op); err != nil {
		t.Fatal(err)
	}
	// The file the receive wrote is not a subvolume, so removing the
	// temporary fails: recovery names it rather than deleting it.
	err = o.Recover()
	select {
	case werr := <-exited:
		if werr != nil {
			t.Fatalf("the receive could not write into its temporary: recovery did not wait for it (%v)", werr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the receive still runs 5s after recovery returned")
	}
	if err == nil {
		t.Fatal("recovery removed a temporary holding a file that bmsched did not make")
	}
	if _, serr := os.Stat(op.Temp + "/written"); serr != nil {
		t.Fatalf("what the receive wrote is gone: %v", serr)
	}
}
