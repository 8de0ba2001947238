package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/bmsched/bmsched/internal/api"
)

func revisionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Uint64Flag{Name: "rev", Usage: "the revision number N (the entry <machine>-N)"},
		&cli.BoolFlag{Name: "receive", Usage: "read the revision as a btrfs send stream from stdin"},
		&cli.StringFlag{Name: "from", Usage: "snapshot the revision from the subvolume at PATH (root only: others send a stream with --receive)"},
		&cli.StringFlag{Name: "owner", Usage: "USER:GROUP to own the revision (default: the daemon's build user, serve --build-user); an operator other than root may name only itself or the build user"},
	}
}

// revisionQuery turns the revision flags into the request's query and body.
func revisionQuery(c *cli.Context, machine string) (url.Values, io.Reader, error) {
	q := url.Values{"machine": {machine}, "rev": {strconv.FormatUint(c.Uint64("rev"), 10)}}
	if c.Uint64("rev") == 0 {
		return nil, nil, exitf(api.ExitUsage, "--rev N is required (revisions start at 1)")
	}
	if c.Bool("receive") && c.String("from") != "" {
		return nil, nil, exitf(api.ExitUsage, "give --receive or --from PATH, not both")
	}
	if o := c.String("owner"); o != "" {
		ids, err := lookupOwner(o)
		if err != nil {
			return nil, nil, err
		}
		q.Set("owner", ids)
	}
	var body io.Reader
	switch {
	case c.Bool("receive"):
		q.Set("receive", "1")
		body = withProgress(os.Stdin, c.App.ErrWriter)
	case c.String("from") != "":
		from, err := filepath.Abs(c.String("from"))
		if err != nil {
			return nil, nil, err
		}
		q.Set("from", from)
	}
	return q, body, nil
}

func addCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "add a machine: its directory, revision N, then the current link",
		ArgsUsage: "MACHINE",
		Flags:     revisionFlags(),
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			if !c.Bool("receive") && c.String("from") == "" {
				return exitf(api.ExitUsage, "add needs --receive (a btrfs send stream on stdin) or --from PATH")
			}
			q, body, err := revisionQuery(c, a[0])
			if err != nil {
				return err
			}
			return runOp(c, "/v1/ops/add?"+q.Encode(), body)
		},
	}
}

func upgradeCommand() *cli.Command {
	return &cli.Command{
		Name:      "upgrade",
		Usage:     "add revision N (or use it, if there) and switch the current link to it atomically",
		ArgsUsage: "MACHINE",
		Flags: append(revisionFlags(),
			&cli.BoolFlag{Name: "prune", Usage: "then delete older revisions that no image, lease or command depends on"}),
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			q, body, err := revisionQuery(c, a[0])
			if err != nil {
				return err
			}
			if c.Bool("prune") {
				q.Set("prune", "1")
			}
			return runOp(c, "/v1/ops/upgrade?"+q.Encode(), body)
		},
	}
}

func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "switch the current link to the newest read-only revision older than the current one",
		ArgsUsage: "MACHINE",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			return runOp(c, "/v1/ops/rollback?"+url.Values{"machine": a}.Encode(), nil)
		},
	}
}

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "retire a machine: remove its link, wait for its leases to end, delete it",
		ArgsUsage: "MACHINE",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Usage: "give up after DUR (exit 4), leaving the machine retiring"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			q := url.Values{"machine": a}
			if d := c.Duration("timeout"); d < 0 {
				return exitf(api.ExitUsage, "--timeout %s: a duration must not be negative", d)
			} else if d > 0 {
				q.Set("timeout", d.String())
			}
			ctx, stop := signalContext(c)
			defer stop()
			c.Context = ctx
			err = runOpWaiting(c, "/v1/ops/delete?"+q.Encode(), nil, c.Duration("timeout"))
			if ctx.Err() != nil {
				return exitf(api.ExitFailed, "interrupted: the delete of %s stops; the machine stays retiring (no new builds). Run `bmsched delete %s` again to resume, or `bmsched upgrade %s --rev N` to bring it back", a[0], a[0], a[0])
			}
			return err
		},
	}
}

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "reconcile now; with --boot, the Build OS monitor's cleanup at boot",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "boot", Usage: "sweep machines with no link, unleased snapshots, unconfigured images"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list what would be done, do nothing"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			q := url.Values{}
			if c.Bool("boot") {
				q.Set("boot", "1")
			}
			if c.Bool("dry-run") {
				q.Set("dry_run", "1")
			}
			return runOp(c, "/v1/ops/gc?"+q.Encode(), nil)
		},
	}
}

// runOp runs an operator command, printing its progress on stderr and
// its outcome on stdout: the final message, or with --json the result
// (api.OpResult).
func runOp(c *cli.Context, path string, body io.Reader) error {
	return runOpWaiting(c, path, body, 0)
}

// runOpWaiting is runOp for a command that asks the daemon to wait up to
// wait.
func runOpWaiting(c *cli.Context, path string, body io.Reader, wait time.Duration) error {
	res, err := clientWaiting(c, wait).OpResult(c.Context, path, body, func(line string) {
		fmt.Fprintln(c.App.ErrWriter, escText(line))
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	fmt.Fprintln(c.App.Writer, escText(res.Message))
	return nil
}

// withProgress reports bytes sent on a terminal, every 64 MiB.
func withProgress(r io.Reader, w io.Writer) io.Reader {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return r
	}
	return &progressReader{r: r, w: w}
}

type progressReader struct {
	r    io.Reader
	w    io.Writer
	n    int64
	next int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n >= p.next || err == io.EOF {
		fmt.Fprintf(p.w, "\rsent %d MiB", p.n>>20)
		p.next = p.n + 64<<20
		if err == io.EOF {
			fmt.Fprintln(p.w)
		}
	}
	return n, err
}
