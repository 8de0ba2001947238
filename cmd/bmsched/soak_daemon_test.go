package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bmsched/bmsched/internal/crash"
)

// daemon is one run of `bmsched serve` in the soak.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// upSignal is closed once the daemon answers on its socket, and replaced
// by an open one before each kill: clients that find no daemon wait on it
// instead of polling with a process each.
type upSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (u *upSignal) wait() <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ch
}

// down marks the daemon gone, once: clients already waiting keep waiting
// on the same channel.
func (u *upSignal) down() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ch == nil {
		u.ch = make(chan struct{})
		return
	}
	select {
	case <-u.ch:
		u.ch = make(chan struct{})
	default:
	}
}

func (u *upSignal) up() {
	u.mu.Lock()
	defer u.mu.Unlock()
	select {
	case <-u.ch:
	default:
		close(u.ch)
	}
}

// startDaemon starts the daemon, its output appended to the soak's log;
// with crashAt, armed to kill itself at that crash point.
func (s *soak) startDaemon(crashAt ...string) {
	log, err := os.OpenFile(s.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	must(s.t, err)
	defer log.Close()
	cmd := exec.Command(s.bin, "serve", "--machines", s.root, "--db", s.db, "--socket", s.sock, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	if len(crashAt) > 0 {
		// Only a daemon built with the tag bmsched_crash has crash
		// points (TestMain builds it): bmschedd serve, as bmsched serve
		// runs it.
		cmd = exec.Command(os.Getenv(crashDaemonEnv), cmd.Args[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), crash.EnvVar+"="+crashAt[0])
	}
	// A soak that is itself killed must not leave a daemon holding files
	// on the loop mount.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	must(s.t, cmd.Start())
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		// Clients wait for the next daemon rather than spin.
		s.up.down()
		close(d.done)
	}()
	s.daemon = d
}

// waitUp waits until the daemon answers on its socket, then wakes the
// clients waiting on it.
func (s *soak) waitUp(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.Dial("unix", s.sock)
		if err == nil {
			c.Close()
			s.up.up()
			return nil
		}
		select {
		case <-s.daemon.done:
			return errors.New("the daemon exited at start: " + s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("no daemon answers on " + s.sock + ": " + s.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// crashPoints are the steps of an acquire and of an end at which the
// soak has the daemon kill itself, in each round, under the clients'
// load: the invariants must hold after a crash at each.
var crashPoints = []string{
	"acquire-snapshot", "acquire-commit", "acquire-rename",
	"release-aside", "release-commit", "release-delete",
}

// crashAt starts the daemon armed with a crash point and waits for it to
// die there, letting clients in meanwhile; a point not reached in 30s is
// a violation of the soak (it proves nothing).
func (s *soak) crashAt(st *roundStats, point string) {
	s.startDaemon(point)
	d := s.daemon
	go func() {
		for {
			select {
			case <-d.done:
				return
			default:
			}
			if c, err := net.Dial("unix", s.sock); err == nil {
				c.Close()
				s.up.up()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	select {
	case <-d.done:
		st.crashes++
		if !strings.Contains(s.logTail(), "point="+point) {
			st.violate("the daemon armed at %s died elsewhere: %s", point, s.logTail())
		}
	case <-time.After(30 * time.Second):
		st.violate("%s", fmt.Sprintf("crash point %s not reached within 30s", point))
		s.killDaemon()
		return
	}
	s.daemon = nil
}

// killDaemon SIGKILLs the daemon; clients wait for the next one.
func (s *soak) killDaemon() {
	s.up.down()
	s.daemon.cmd.Process.Signal(syscall.SIGKILL)
	<-s.daemon.done
	s.daemon = nil
}

// stopDaemon stops the daemon as an operator does (SIGINT), or kills it
// after 15s; a daemon that fails is an error of the soak.
func (s *soak) stopDaemon() {
	d := s.daemon
	if d == nil {
		return
	}
	s.daemon = nil
	d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		s.t.Errorf("the daemon did not stop within 15s of SIGINT: %s", s.logTail())
		return
	}
	if d.err != nil {
		s.t.Errorf("daemon: %v: %s", d.err, s.logTail())
	}
}

// cli runs the bmsched binary against the daemon and returns its exit
// code and output.
func (s *soak) cli(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"--socket", s.sock}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		return -1, out.String(), err.Error()
	}
	return code, out.String(), errOut.String()
}

// logTail is the end of the daemon's log, for a failure message.
func (s *soak) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
