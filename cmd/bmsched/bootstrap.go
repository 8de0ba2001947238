package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

func bootstrapCommand() *cli.Command {
	return &cli.Command{
		Name:      "bootstrap",
		Usage:     "bootstrap a toolchain image: run COMMAND in a snapshot of the current revision, then swap it in",
		ArgsUsage: "MACHINE TOOLCHAIN -- COMMAND [ARG...]",
		Description: "COMMAND runs with BMSCHED_SUBVOL (the writable snapshot), BMSCHED_MACHINE,\n" +
			"BMSCHED_TOOLCHAIN and BMSCHED_REVISION in its environment. If it succeeds the\n" +
			"snapshot is made read-only and exchanged atomically with <machine>-<toolchain>;\n" +
			"if it fails the snapshot is deleted, the old image kept, and bootstrap exits\n" +
			"with COMMAND's status.",
		Action: func(c *cli.Context) error {
			a, err := args(c, 3, -1)
			if err != nil {
				return err
			}
			return runBootstrap(c, a[0], a[1], a[2:])
		},
	}
}

// runBootstrap begins the bootstrap at the daemon, runs argv in its
// snapshot, and reports the outcome for the daemon to swap the image in
// or undo it.
func runBootstrap(c *cli.Context, machine, toolchain string, argv []string) error {
	cl := client(c)
	q := url.Values{"machine": {machine}, "toolchain": {toolchain}}
	var b api.Bootstrap
	if err := cl.Do(c.Context, "POST", "/v1/ops/bootstrap?"+q.Encode(), nil, &b); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "bootstrapping %s/%s %s from revision %d in %s\n", b.Volume, b.Machine, toolchain, b.Revision, b.Subvol)
	runErr := runBootstrapCommand(c, b, toolchain, argv)
	status, how := commandStatus(runErr)
	fq := url.Values{"status": {strconv.Itoa(status)}}
	if runErr == nil {
		fq.Set("ok", "1")
	}
	m, err := finishBootstrap(c.Context, cl, fmt.Sprintf("/v1/ops/bootstrap/%d/finish?%s", b.Op, fq.Encode()), globalTimeout(c), c.App.ErrWriter)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.ErrWriter, m.Message)
	if c.Bool("json") {
		out := bootstrapResult{OpResult: m, Toolchain: toolchain, Revision: b.Revision, Subvol: b.Subvol, Status: status}
		if err := printJSON(c.App.Writer, out); err != nil {
			return err
		}
	}
	return commandOutcome(argv[0], runErr, status, how)
}

// runBootstrapCommand runs argv with the bootstrap's environment until
// it ends. An interrupt stops the command, not bootstrap: the outcome
// must still reach the daemon, which then deletes the snapshot.
func runBootstrapCommand(c *cli.Context, b api.Bootstrap, toolchain string, argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.App.Writer, c.App.ErrWriter
	if c.Bool("json") {
		// stdout is the result's alone.
		cmd.Stdout = c.App.ErrWriter
	}
	cmd.Env = append(os.Environ(),
		"BMSCHED_SUBVOL="+b.Subvol,
		"BMSCHED_MACHINE="+b.Machine,
		"BMSCHED_TOOLCHAIN="+toolchain,
		"BMSCHED_REVISION="+strconv.FormatUint(b.Revision, 10))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer func() {
		signal.Stop(sigs)
		close(sigs)
	}()
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for sig := range sigs {
			cmd.Process.Signal(sig)
		}
	}()
	return cmd.Wait()
}

// commandOutcome is bootstrap's error for its command's outcome: it exits
// with the command's status.
func commandOutcome(name string, runErr error, status int, how string) error {
	if runErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(runErr, &ee) {
		return exitf(api.ExitFailed, "run %s: %v", name, runErr)
	}
	return exitf(status, "%s %s; the bootstrap was undone (bootstrap exits with the command's status)", name, how)
}

// bootstrapResult is what bootstrap --json prints: the daemon's result
// and what the command ran in and how it ended.
type bootstrapResult struct {
	api.OpResult
	Toolchain string `json:"toolchain"`
	Revision  uint64 `json:"revision"`
	Subvol    string `json:"subvol"`
	Status    int    `json:"status"`
}
