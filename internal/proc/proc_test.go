package proc

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestAliveAndWatch(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	start, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(pid, start) {
		t.Fatalf("process %d started at %d: not alive", pid, start)
	}
	if Alive(pid, start+1) {
		t.Fatalf("process %d taken for one that started at another time", pid)
	}
	w, err := Open(pid, start)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	select {
	case <-w.Exited():
		t.Fatal("exited before it was killed")
	case <-time.After(50 * time.Millisecond):
	}
	cmd.Process.Kill()
	select {
	case <-w.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("exit not seen after 5s")
	}
	// A zombie, not yet waited for, is gone.
	if Alive(pid, start) {
		t.Fatal("a killed process (a zombie) counts as alive")
	}
	cmd.Wait()
	if Alive(pid, start) {
		t.Fatal("a reaped process counts as alive")
	}
	if _, err := Open(pid, start); !errors.Is(err, ErrGone) {
		t.Fatalf("Open of a gone process: %v, want ErrGone", err)
	}
	if !WaitGone(pid, start, time.Second) {
		t.Fatal("WaitGone of a gone process")
	}
	if Alive(0, 0) || !Alive(os.Getpid(), 0) {
		t.Fatal("Alive of pid 0 or of this process")
	}
}
