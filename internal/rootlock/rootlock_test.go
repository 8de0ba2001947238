package rootlock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTakeHeldRelease(t *testing.T) {
	root := t.TempDir()
	l, err := Take(root)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description: a second Take in
	// this process is refused too, as a second daemon would be.
	_, err = Take(root)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Take: %v, want a HeldError", err)
	}
	if held.PID != os.Getpid() || !strings.Contains(err.Error(), root) {
		t.Fatalf("second Take names pid %d in %q; want pid %d and the root", held.PID, err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Take(root)
	if err != nil {
		t.Fatalf("Take after Release: %v", err)
	}
	l2.Release()
}

// A process that dies holding the lock frees it: the kernel drops flocks
// with the last descriptor.
func TestHolderExit(t *testing.T) {
	root := t.TempDir()
	// -o: the lock stays with flock(1) itself, not with sleep.
	cmd := exec.Command("flock", "-o", "-x", filepath.Join(root, Name), "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("flock(1) unavailable:", err)
	}
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		l, err := Take(root)
		if err != nil {
			break
		}
		l.Release()
		if i > 200 {
			t.Fatal("the root was never held by flock(1)")
		}
		// flock(1) has not taken it yet; give the lock back and look again.
		exec.Command("sleep", "0.01").Run()
	}
	cmd.Process.Kill()
	cmd.Wait()
	// flock(1)'s child closes its copy of the descriptor just after the
	// fork: until it has, the lock is still held through it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := Take(root)
		if err == nil {
			l.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Take 5s after the holder was killed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSymlinkRefused(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(root, Name)); err != nil {
		t.Fatal(err)
	}
	if _, err := Take(root); err == nil {
		t.Fatal("Take followed a symlinked lock file")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Fatal("Take created the symlink's target")
	}
}

// The id mark survives the lock and the process, and only ever rises.
func TestIDs(t *testing.T) {
	root := t.TempDir()
	l, err := Take(root)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := l.IDs()
	if err != nil {
		t.Fatal(err)
	}
	if ids.Reserved() != 0 {
		t.Fatalf("new mark: %d", ids.Reserved())
	}
	if err := ids.Cover(5); err != nil {
		t.Fatal(err)
	}
	first := ids.Reserved()
	if first < 5 {
		t.Fatalf("mark %d does not cover 5", first)
	}
	if err := ids.Cover(3); err != nil || ids.Reserved() != first {
		t.Fatalf("Cover(3) moved the mark to %d (%v)", ids.Reserved(), err)
	}
	if err := ids.Stamp("tok-1", 2); err != nil || ids.Reserved() != first {
		t.Fatalf("Stamp moved the mark to %d (%v)", ids.Reserved(), err)
	}
	ids.Close()
	l.Release()

	l, err = Take(root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	ids, err = l.IDs()
	if err != nil {
		t.Fatal(err)
	}
	defer ids.Close()
	if ids.Reserved() != first || ids.Token() != "tok-1" {
		t.Fatalf("mark after reopen: %d %q, want %d tok-1", ids.Reserved(), ids.Token(), first)
	}
	if err := ids.Cover(first + 1); err != nil || ids.Reserved() <= first {
		t.Fatalf("Cover past the mark left it at %d (%v)", ids.Reserved(), err)
	}
}
