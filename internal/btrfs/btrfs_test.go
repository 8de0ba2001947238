package btrfs_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

// TestBtrfs runs on one loop-mounted btrfs: loop devices are few.
func TestBtrfs(t *testing.T) {
	mnt := loopbtrfstest.TB(t)
	d := btrfs.NewBtrfs()
	testDriver(t, d, mnt)

	t.Run("ReadOnlyRefusesWrites", func(t *testing.T) {
		sv := filepath.Join(mnt, "rofs")
		mustCreate(t, d, sv)
		must(t, d.SetReadOnly(sv, true))
		err := os.WriteFile(filepath.Join(sv, "f"), nil, 0o644)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("write into a read-only subvolume: %v; want EROFS", err)
		}
		must(t, d.SetReadOnly(sv, false))
		writeFile(t, filepath.Join(sv, "f"), "now writable")
	})

	t.Run("ReceivedUUID", func(t *testing.T) {
		src, snap := filepath.Join(mnt, "sendsrc"), filepath.Join(mnt, "sendsnap")
		mustCreate(t, d, src)
		writeFile(t, filepath.Join(src, "disk.img"), "image")
		must(t, d.Snapshot(context.Background(), src, snap, true))
		recvDir := filepath.Join(mnt, "received")
		must(t, os.Mkdir(recvDir, 0o755))
		sendReceive(t, snap, recvDir)

		received := filepath.Join(recvDir, "sendsnap")
		checkFile(t, filepath.Join(received, "disk.img"), "image")
		sent, err := d.Info(snap)
		must(t, err)
		got, err := d.Info(received)
		must(t, err)
		if got.ReceivedUUID != sent.UUID || !got.Readonly || got.UUID == "" || got.UUID == sent.UUID {
			t.Errorf("Info(received) = %+v; want ReceivedUUID %s, read-only, a UUID of its own", got, sent.UUID)
		}
		// A received subvolume is read-only; Delete copes.
		must(t, d.Delete(context.Background(), received))
		checkGone(t, received)
	})

	t.Run("NotOnBtrfs", func(t *testing.T) {
		tmp := t.TempDir()
		err := d.Create(filepath.Join(tmp, "sv"))
		checkPathError(t, err, "create subvolume", filepath.Join(tmp, "sv"), syscall.ENOTTY)
		_, err = d.Info(tmp)
		checkPathError(t, err, "subvolume info", tmp, btrfs.ErrNotSubvolume)
	})
}

// sendReceive pipes `btrfs send snap` into `btrfs receive dir`.
func sendReceive(t *testing.T, snap, dir string) {
	t.Helper()
	r, w, err := os.Pipe()
	must(t, err)
	send := exec.Command("btrfs", "-q", "send", snap)
	send.Stdout, send.Stderr = w, os.Stderr
	recv := exec.Command("btrfs", "-q", "receive", dir)
	recv.Stdin, recv.Stderr = r, os.Stderr
	must(t, send.Start())
	if err := recv.Start(); err != nil {
		w.Close()
		r.Close()
		send.Wait()
		t.Fatal(err)
	}
	// The children hold their own ends; ours would keep receive waiting.
	w.Close()
	r.Close()
	serr, rerr := send.Wait(), recv.Wait()
	if serr != nil || rerr != nil {
		t.Fatalf("btrfs send | btrfs receive: send: %v, receive: %v", serr, rerr)
	}
}
