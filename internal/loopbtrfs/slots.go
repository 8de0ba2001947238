package loopbtrfs

import (
	"fmt"
	"os"
	"path/filepath"
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

// takeSlot blocks until one of the machine's loop slots is free and
// returns the function that frees it.
func takeSlot() (release func() error, err error) {
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
				return f.Close, nil
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
