package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/names"
)

func acquireCommand() *cli.Command {
	return &cli.Command{
		Name:      "acquire",
		Usage:     "make a writable snapshot of a toolchain image under a lease; prints its path",
		ArgsUsage: "MACHINE TOOLCHAIN",
		Flags: append(acquireFlags(),
			&cli.IntFlag{Name: "owner-pid", Usage: "end the lease when process PID exits (a worker passes its own pid)"}),
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2)
			if err != nil {
				return err
			}
			if c.IsSet("owner-pid") && c.Int("owner-pid") <= 0 {
				return exitf(api.ExitUsage, "--owner-pid %d: not a process id (a worker passes its own, $$)", c.Int("owner-pid"))
			}
			req, err := acquireRequest(c, a[0], a[1], c.Int("owner-pid"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				var l api.Lease
				if err := acquire(c.Context, c, req, &l); err != nil {
					return err
				}
				return printJSON(c.App.Writer, l)
			}
			var l leasePath
			if err := acquire(c.Context, c, req, &l); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, l.Path)
			return nil
		},
	}
}

func releaseCommand() *cli.Command {
	return &cli.Command{
		Name:      "release",
		Usage:     "end a lease and delete its snapshot (idempotent)",
		ArgsUsage: "LEASE|PATH",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "hold", Usage: "keep the snapshot for debugging for DUR, then delete it"},
		},
		Action: func(c *cli.Context) error {
			if err := leaseDurations(c, "hold"); err != nil {
				return err
			}
			id, ended, err := leaseArg(c)
			if err != nil {
				return err
			}
			if ended != nil {
				msg := ended.Message
				if c.Bool("json") {
					return printJSON(c.App.Writer, api.Message{Message: msg})
				}
				fmt.Fprintln(c.App.ErrWriter, escText(msg))
				return nil
			}
			var req api.ReleaseRequest
			if d := c.Duration("hold"); d > 0 {
				req.Hold = d.String()
			}
			var out api.Message
			if err := client(c).Do(c.Context, "POST", "/v1/leases/"+id+"/release", req, &out); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, out)
			}
			fmt.Fprintln(c.App.ErrWriter, escText(out.Message))
			return nil
		},
	}
}

func renewCommand() *cli.Command {
	return &cli.Command{
		Name:      "renew",
		Usage:     "extend a lease's expiry",
		ArgsUsage: "LEASE|PATH",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "ttl", Usage: "new lifetime from now (default: the TTL it was acquired with)"},
		},
		Action: func(c *cli.Context) error {
			if err := leaseDurations(c, "ttl"); err != nil {
				return err
			}
			id, ended, err := leaseArg(c)
			if err != nil {
				return err
			}
			if ended != nil {
				return exitf(api.ExitNotFound, "%s: there is nothing to renew", ended.Message)
			}
			var req api.RenewRequest
			if d := c.Duration("ttl"); d > 0 {
				req.TTL = d.String()
			}
			var l api.Lease
			if err := client(c).Do(c.Context, "POST", "/v1/leases/"+id+"/renew", req, &l); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, l)
			}
			fmt.Fprintf(c.App.Writer, "lease %d expires %s\n", l.ID, l.Expires.Local().Format(time.RFC3339))
			return nil
		},
	}
}

func leasesCommand() *cli.Command {
	return &cli.Command{
		Name:      "leases",
		Usage:     "the leases, with owner, age, expiry and state",
		ArgsUsage: "[MACHINE]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "waiting", Usage: "also show the requests waiting for capacity, and why"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 0, 1)
			if err != nil {
				return err
			}
			q := url.Values{}
			if len(a) == 1 {
				q.Set("m", a[0])
			}
			if c.Bool("waiting") {
				q.Set("waiting", "1")
			}
			path := "/v1/leases?" + q.Encode()
			if c.Bool("json") {
				return printRaw(c, path)
			}
			var out api.Leases
			if err := client(c).Do(c.Context, "GET", path, nil, &out); err != nil {
				return err
			}
			return printLeases(c, out)
		},
	}
}

func printLeases(c *cli.Context, out api.Leases) error {
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMACHINE\tTOOLCHAIN\tSTATE\tAGE\tEXPIRES\tUID\tPID\tLABEL\tPATH")
	for _, l := range out.Leases {
		exp := "-"
		switch {
		case l.HoldUntil != nil:
			exp = "held until " + l.HoldUntil.Local().Format(time.DateTime)
		case l.Expires != nil:
			exp = l.Expires.Local().Format(time.DateTime)
		}
		uid, pid, label := "-", "-", ""
		if o := l.Owner; o != nil {
			uid = strconv.FormatUint(uint64(o.UID), 10)
			if o.PID != 0 {
				pid = strconv.Itoa(o.PID)
			}
			label = o.Label
		} else if l.Adopted != "" {
			label = "(adopted: " + l.Adopted + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.ID, esc(l.Volume+"/"+l.Machine), esc(l.Toolchain), esc(l.State),
			age(l.Created), exp, uid, pid, esc(label), esc(l.Path))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range out.Leases {
		if l.LastError != "" {
			fmt.Fprintf(c.App.Writer, "lease %d is %s and waits: %s\n", l.ID, l.State, l.LastError)
		}
	}
	if c.Bool("waiting") {
		fmt.Fprintf(c.App.Writer, "\n%d waiting\n", len(out.Waiting))
		for _, w := range out.Waiting {
			fmt.Fprintf(c.App.Writer, "#%d %s %s priority %d, uid %d %s, waiting %s: %s\n", w.Position, esc(w.Volume+"/"+w.Machine),
				esc(w.Toolchain), w.Priority, w.UID, esc(w.Label), age(w.Since), escText(w.Reason))
		}
	}
	return nil
}

// leaseArg reads the LEASE argument: a lease id, or the snapshot's path
// or name as acquire printed it, so that a worker can release "$dir".
// The daemon resolves a path or name; ended is set, with the daemon's
// message, when it names a lease that existed and has ended: a release
// that already happened. Anything no lease ever had is exit 3.
func leaseArg(c *cli.Context) (id string, ended *api.LeaseRef, err error) {
	a, err := args(c, 1, 1)
	if err != nil {
		return "", nil, err
	}
	arg := a[0]
	if n, err := strconv.ParseUint(arg, 10, 64); err == nil {
		if n == 0 {
			return "", nil, exitf(api.ExitUsage, "lease 0: lease ids start at 1")
		}
		return arg, nil, nil
	}
	if !strings.Contains(arg, "/") && names.ValidMachineName(arg) != nil {
		return "", nil, exitf(api.ExitUsage, "lease %q: give the lease id, or the snapshot path that acquire printed", arg)
	}
	if strings.Contains(arg, "/") {
		if arg, err = filepath.Abs(arg); err != nil {
			return "", nil, err
		}
	}
	var ref api.LeaseRef
	if err := client(c).Do(c.Context, "GET", "/v1/lease-ref?"+url.Values{"ref": {arg}}.Encode(), nil, &ref); err != nil {
		return "", nil, err
	}
	if ref.Ended {
		return "", &ref, nil
	}
	return strconv.FormatUint(ref.ID, 10), nil, nil
}
