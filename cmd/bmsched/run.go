package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

// runSignals are passed on to the command: the command decides how to
// stop, and run releases the lease once it has.
var runSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "acquire a snapshot, run COMMAND in it, release it when COMMAND ends; exits with COMMAND's status",
		ArgsUsage: "MACHINE TOOLCHAIN -- COMMAND [ARG...]",
		Description: "The lease is owned by this process, so that it ends even if run itself is\n" +
			"killed. COMMAND runs with BMSCHED_SNAPSHOT (the snapshot's path) and\n" +
			"BMSCHED_LEASE (the lease id) in its environment, and in the snapshot with\n" +
			"--chdir. SIGINT, SIGTERM and SIGHUP are passed on to COMMAND. run exits with\n" +
			"COMMAND's status, 128 + the signal's number if a signal killed it, 127 if it\n" +
			"was not found and 126 if it could not be started.",
		Flags: append(acquireFlags(),
			&cli.BoolFlag{Name: "chdir", Usage: "run COMMAND in the snapshot's directory"}),
		Action: func(c *cli.Context) error {
			a, err := args(c, 3, -1)
			if err != nil {
				return err
			}
			req, err := acquireRequest(c, a[0], a[1], os.Getpid())
			if err != nil {
				return err
			}
			return runLeased(c, req, a[2:])
		},
	}
}

// runLeased acquires the lease, runs argv under it and releases it.
func runLeased(c *cli.Context, req api.AcquireRequest, argv []string) error {
	f := newForwarder(c.Context)
	defer f.stop()

	var l leasePath
	err := acquire(f.ctx, c, req, &l)
	if sig := f.pending(); sig != nil {
		// Stopped while acquiring: a lease the daemon made all the same
		// ends with this process, its owner.
		if err == nil {
			releaseRun(c, l)
		}
		return exitf(128+int(sig.(syscall.Signal)), "stopped by %s before %s started", sig, argv[0])
	}
	if err != nil {
		return err
	}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.App.Writer, c.App.ErrWriter
	if c.Bool("chdir") {
		cmd.Dir = l.Path
	}
	// Environ sets PWD to Dir, as a shell would.
	cmd.Env = append(cmd.Environ(),
		"BMSCHED_SNAPSHOT="+l.Path,
		"BMSCHED_LEASE="+strconv.FormatUint(l.ID, 10))
	// If run is killed the daemon deletes the snapshot (run owns the
	// lease): the command must not go on writing into a deleted tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runErr := f.start(cmd)
	if runErr == nil {
		runErr = cmd.Wait()
	}
	lease := "its lease was released"
	if !releaseRun(c, l) {
		lease = "its lease ends as run exits"
	}
	return runOutcome(argv[0], runErr, lease)
}

// releaseRun ends run's lease. A release that fails is reported and not
// fatal: the lease ends anyway when this process, its owner, exits.
func releaseRun(c *cli.Context, l leasePath) bool {
	// Not the signalled context: a stopped command's lease is released too.
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout(c))
	defer cancel()
	var out api.Message
	path := "/v1/leases/" + strconv.FormatUint(l.ID, 10) + "/release"
	if err := client(c).Do(ctx, "POST", path, api.ReleaseRequest{}, &out); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "bmsched: release lease %d (%s): %s; the daemon ends it when this process exits\n", l.ID, escText(l.Path), escText(err.Error()))
		return false
	}
	return true
}

// releaseTimeout bounds the release at the end of run by the global
// --timeout, or a minute when that is 0 (no bound): run must exit.
func releaseTimeout(c *cli.Context) time.Duration {
	for _, ctx := range c.Lineage() {
		if ctx.Value("timeout") != nil {
			if d := ctx.Duration("timeout"); d > 0 {
				return d
			}
		}
	}
	return time.Minute
}

// runOutcome is run's exit for its command's end; lease says what became
// of the lease.
func runOutcome(name string, err error, lease string) error {
	var ee *exec.ExitError
	var se *signalledError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return exitf(128+int(se.sig.(syscall.Signal)), "stopped by %s before %s started; %s", se.sig, name, lease)
	case errors.Is(err, exec.ErrNotFound):
		return exitf(127, "run %s: %v (is it installed and in PATH?)", name, err)
	case !errors.As(err, &ee):
		return exitf(126, "run %s: %v", name, err)
	}
	status, how := commandStatus(err)
	return exitf(status, "%s %s; %s", name, how, lease)
}

// forwarder passes signals on to the command once it runs; before, the
// first one cancels the acquire.
type forwarder struct {
	ctx    context.Context
	cancel context.CancelFunc
	sigs   chan os.Signal
	done   chan struct{}

	mu   sync.Mutex
	proc *os.Process
	sig  os.Signal // the first signal received before the command started
}

func newForwarder(parent context.Context) *forwarder {
	ctx, cancel := context.WithCancel(parent)
	f := &forwarder{ctx: ctx, cancel: cancel, sigs: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(f.sigs, runSignals...)
	go f.loop()
	return f
}

func (f *forwarder) loop() {
	defer close(f.done)
	for s := range f.sigs {
		f.mu.Lock()
		switch {
		case f.proc != nil:
			f.proc.Signal(s)
		case f.sig == nil:
			f.sig = s
			f.cancel()
		}
		f.mu.Unlock()
	}
}

// pending is the signal that arrived before the command started, if any.
func (f *forwarder) pending() os.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sig
}

// start starts cmd unless a signal came first, so that none is lost
// between the two.
func (f *forwarder) start(cmd *exec.Cmd) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sig != nil {
		return &signalledError{f.sig}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	f.proc = cmd.Process
	return nil
}

func (f *forwarder) stop() {
	signal.Stop(f.sigs)
	close(f.sigs)
	<-f.done
	f.cancel()
}

// signalledError: a signal came after the lease was granted and before
// the command started, which therefore never ran.
type signalledError struct{ sig os.Signal }

func (e *signalledError) Error() string { return "stopped by " + e.sig.String() }
