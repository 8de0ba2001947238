package ops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bmsched/bmsched/internal/errkind"
)

// receive runs `btrfs receive` into dir (made here) from stream and
// returns the one subvolume it made. started is told the receive's pid
// before it reads anything, so that recovery can wait for it.
//
// The receive dies with the daemon (Pdeathsig), so that a restarted
// daemon's recovery never races a receive still writing into the
// temporary it undoes. The signal follows the thread that started the
// child, so that thread is kept for the receive's whole life.
func receive(ctx context.Context, dir string, stream io.Reader, progress Progress, started func(pid int) error) (string, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("receive: %w", err)
	}
	counted := &countingReader{r: stream}
	cmd := exec.CommandContext(ctx, "btrfs", "receive", "-e", dir)
	cmd.Stdin = counted
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start btrfs receive into %s: %w (is btrfs-progs installed?)", dir, err)
	}
	if err := started(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return "", err
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				progress("received %d bytes", counted.n.Load())
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		return "", errkind.Errorf(errkind.Failed, "btrfs receive into %s: %w: %s (%s)", dir, err, msg, receiveHint(msg))
	}
	progress("received %d bytes", counted.n.Load())
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		return "", errkind.Errorf(errkind.Failed, "btrfs receive made %d entries in %s, want one subvolume: send one subvolume per add", len(ents), dir)
	}
	return filepath.Join(dir, ents[0].Name()), nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
