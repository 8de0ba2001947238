package loopbtrfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Slots bounds how many loop devices this package holds at once across
// every process on the machine: the test binaries of several packages run
// in parallel, and a machine (a CI runner, a container) may have only
// eight loop devices. A slot is an flock on one of Slots files in
// SlotDir; the kernel drops it when its holder exits, however it exits,
// so a killed test never keeps a slot.
const Slots = 6

// slotWait bounds the wait for a slot: a test that cannot get one fails,
// rather than hang behind another that hangs.
const slotWait = 3 * time.Minute

// SlotDir holds the slot files, shared by every process on the machine.
var SlotDir = filepath.Join(os.TempDir(), "bmsched-loop-slots")

// slot is one of the machine's loop slots, held by this process. Its
// file records the image, loop device and mount point of the mount that
// holds it, so that whoever takes the slot next can undo what a holder
// that died without its cleanup (a panic, a kill) left behind.
type slot struct{ f *os.File }

// takeSlot blocks until one of the machine's loop slots is free, undoes
// what its last holder left, and returns it.
func takeSlot() (*slot, error) {
	if err := os.MkdirAll(SlotDir, 0o777); err != nil {
		return nil, fmt.Errorf("loopbtrfs: make the slot directory: %w", err)
	}
	deadline := time.Now().Add(slotWait)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		for i := range Slots {
			f, err := os.OpenFile(filepath.Join(SlotDir, fmt.Sprintf("slot-%d", i)), os.O_RDWR|os.O_CREATE, 0o666)
			if err != nil {
				return nil, fmt.Errorf("loopbtrfs: open a loop slot: %w", err)
			}
			err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			if err == nil {
				s := &slot{f}
				s.reclaim()
				return s, nil
			}
			f.Close()
			if err != unix.EWOULDBLOCK {
				return nil, fmt.Errorf("loopbtrfs: lock a loop slot: %w", err)
			}
		}
		// Every slot is held by a mount in this or another test process:
		// wait for one to be given back, but not forever.
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("loopbtrfs: all %d loop slots in %s were held for %s by other tests (`fuser %s/*` names them)", Slots, SlotDir, slotWait, SlotDir)
		}
		time.Sleep(wait)
	}
}

// record notes what the slot holds: image, loop device, mount point.
func (s *slot) record(img, dev, mnt string) error {
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	_, err := s.f.WriteAt([]byte(img+"\n"+dev+"\n"+mnt+"\n"), 0)
	return err
}

// release gives the slot back, its record cleared: what it held is undone.
func (s *slot) release() error {
	_ = s.f.Truncate(0)
	return s.f.Close()
}

// reclaim undoes what the slot's record says a dead holder left: the
// mount, the loop device (only while it is still backed by that image:
// the kernel may have given the number to another since) and the image.
func (s *slot) reclaim() {
	buf := make([]byte, 4096)
	n, _ := s.f.ReadAt(buf, 0)
	fields := strings.Split(strings.TrimSpace(string(buf[:n])), "\n")
	if len(fields) != 3 {
		return
	}
	img, dev, mnt := fields[0], fields[1], fields[2]
	_ = unmount(mnt)
	backing, err := os.ReadFile("/sys/block/" + filepath.Base(dev) + "/loop/backing_file")
	if err == nil && strings.TrimSpace(string(backing)) == img {
		_ = detach(dev)
	}
	_ = removeIfExists(img)
	_ = s.f.Truncate(0)
}
