package daemoncli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/cliapp"
	"github.com/bmsched/bmsched/internal/loopbtrfs"
	"github.com/bmsched/bmsched/internal/server"
)

// demo walks through the commands on a sample volume.
func demo(c *cli.Context) error {
	// Every way out cleans up (the loop device, the mount, the
	// temporary directory), so the signals that would end the
	// process stop the walk-through instead: SIGINT, SIGTERM, and
	// SIGPIPE when its reader goes (`bmsched demo | head`).
	ctx, stop := stopSignals(c.Context)
	defer stop()
	err := runDemo(ctx, c.App.Writer, c.App.ErrWriter, c.Bool("plain"))
	if ctx.Err() != nil {
		return exitf(api.ExitFailed, "demo interrupted: stopped the daemon and removed the sample volume")
	}
	return err
}

// runDemo sets up a volume (a loop-mounted btrfs as root with btrfs-progs,
// else plain directories), serves it in-process, and runs the commands an
// operator and a build worker would, printing each, until ctx is done.
func runDemo(ctx context.Context, stdout, stderr io.Writer, plain bool) (err error) {
	tmp, err := os.MkdirTemp("", "bmsched-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	base, kind, cleanup, err := demoVolume(tmp, stderr, plain)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	machines := filepath.Join(base, "machines")
	scratch := filepath.Join(base, "scratch")
	if err := demoSamples(machines, scratch); err != nil {
		return err
	}
	sock := filepath.Join(tmp, "bmsched.sock")
	fmt.Fprintf(stdout, "# bmsched demo on %s in %s\n", kind, base)
	sctx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- server.Run(sctx, server.Config{
			Machines: machines, DB: filepath.Join(tmp, "bmsched.db"), Socket: sock,
			Log: quietLog(),
			// Whoever runs the demo owns what it makes: a normal user's
			// daemon cannot give it to another.
			BuildUser: fmt.Sprintf("%d:%d", os.Geteuid(), os.Getegid()),
		}, ready)
	}()
	defer func() {
		stop()
		if serr := <-served; serr != nil && err == nil {
			err = serr
		}
	}()
	select {
	case <-ready:
	case err := <-served:
		return err
	}
	return demoSteps(ctx, stdout, sock, scratch)
}

// demoVolume makes the filesystem the demo lays out its volume on, under
// tmp, and returns its directory and what undoes it.
func demoVolume(tmp string, stderr io.Writer, plain bool) (base, kind string, cleanup func() error, err error) {
	base = filepath.Join(tmp, "fs")
	if err := os.Mkdir(base, 0o755); err != nil {
		return "", "", nil, err
	}
	why := loopbtrfs.Available()
	if why != nil || plain {
		if why != nil {
			fmt.Fprintf(stderr, "demo: using plain directories (%v)\n", why)
		}
		return base, "plain directories", func() error { return nil }, nil
	}
	loop := filepath.Join(tmp, "loop")
	if err := os.Mkdir(loop, 0o755); err != nil {
		return "", "", nil, err
	}
	mnt, cleanup, err := loopbtrfs.Mount(loop, loopbtrfs.DefaultSize)
	if err != nil {
		return "", "", nil, err
	}
	return mnt, "a loop-mounted btrfs", cleanup, nil
}

// demoSamples lays out an empty volume and two revisions of a machine
// image to add from, as a developer would send them.
func demoSamples(machines, scratch string) error {
	for _, d := range []string{machines, filepath.Join(machines, "default"), scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	drv, err := btrfs.ForPath(scratch, "")
	if err != nil {
		return err
	}
	for rev, content := range []string{"linux 6.1\n", "linux 6.6\n"} {
		src := filepath.Join(scratch, fmt.Sprintf("linux-gcc_6-%d", rev+1))
		if err := drv.Create(src); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, "disk.img"), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// demoSteps runs the walk-through against the daemon on sock, stopping
// between steps once ctx is done.
func demoSteps(ctx context.Context, stdout io.Writer, sock, scratch string) error {
	steps := [][]string{
		{"add", "linux-gcc_6", "--rev", "1", "--from", filepath.Join(scratch, "linux-gcc_6-1")},
		{"bootstrap", "linux-gcc_6", "gcc", "--", "sh", "-c", "echo gcc 13 > $BMSCHED_SUBVOL/toolchain"},
		{"list"},
		{"acquire", "linux-gcc_6", "gcc", "--label", "bbot-agent@1"},
		{"leases"},
		{"upgrade", "linux-gcc_6", "--rev", "2", "--from", filepath.Join(scratch, "linux-gcc_6-2")},
		{"show", "linux-gcc_6"},
		{"release", "1"},
		{"bootstrap", "linux-gcc_6", "gcc", "--", "sh", "-c", "echo gcc 14 > $BMSCHED_SUBVOL/toolchain"},
		{"list"},
		{"delete", "linux-gcc_6"},
		{"events"},
	}
	// The steps are the client's, which bmschedd does not link.
	client, err := cliapp.Program("bmsched")
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n$ bmsched %s\n", cliapp.ShellJoin(s))
		cmd := exec.CommandContext(ctx, client, append([]string{"--socket", sock}, s...)...)
		cmd.Stdout, cmd.Stderr = stdout, stdout
		if err := cmd.Run(); err != nil {
			code := api.ExitFailed
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				code = ee.ExitCode()
			}
			return exitf(code, "demo step `bmsched %s` failed: %v", cliapp.ShellJoin(s), err)
		}
	}
	fmt.Fprintln(stdout, "\n# demo done: the daemon stops and the volume is removed")
	return nil
}
