package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

func printList(w io.Writer, l api.List) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MACHINE\tSTATE\tCURRENT\tREVISIONS\tIMAGES\tSNAPSHOTS\tLEASES\tSTRAYS")
	for _, m := range l.Machines {
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n",
			esc(m.Volume), esc(m.Name), esc(m.State), current(m.Current), revisions(m.Revisions),
			images(m.Toolchains), len(m.Snapshots), m.Leases, len(m.Strays))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range l.Machines {
		for _, s := range m.Strays {
			fmt.Fprintf(w, "stray %s: %s\n", esc(m.Volume+"/"+m.Name+"/"+s.Name), escText(s.Reason))
		}
	}
	for _, s := range l.Strays {
		fmt.Fprintf(w, "stray %s: %s\n", esc(s.Name), escText(s.Reason))
	}
	for _, v := range l.Volumes {
		if v.State != "available" {
			fmt.Fprintf(w, "volume %s: %s since %s: its filesystem (%s %s) is not mounted; its machines and leases are kept until it is back\n",
				v.Name, v.State, v.Since.Local().Format(time.DateTime), v.Type, v.FS)
		}
	}
	return nil
}

func printMachine(w io.Writer, m api.Machine) error {
	fmt.Fprintf(w, "machine   %s\n", esc(m.Volume+"/"+m.Name))
	fmt.Fprintf(w, "dir       %s\n", esc(m.Dir))
	fmt.Fprintf(w, "state     %s\n", esc(m.State))
	fmt.Fprintf(w, "current   %s\n", current(m.Current))
	fmt.Fprintf(w, "leases    %d\n", m.Leases)
	for _, t := range m.Transients {
		fmt.Fprintf(w, "upgrade   in progress by hand: %s\n", esc(t))
	}
	for _, b := range m.Bootstraps {
		fmt.Fprintf(w, "bootstrap %s from revision %d (op %d, client pid %d) in %s, since %s\n",
			b.Toolchain, b.Revision, b.Op, b.ClientPID, b.Temp, b.Started.Local().Format(time.DateTime))
	}
	for _, t := range m.Temps {
		fmt.Fprintf(w, "temporary %s\n", t)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(m.Revisions) > 0 {
		fmt.Fprintln(tw, "\nREVISION\tREAD-ONLY\tUUID\tRECEIVED-UUID")
		for _, r := range m.Revisions {
			mark := ""
			if m.Current != nil && *m.Current == r.Rev {
				mark = " (current)"
			}
			recv := r.ReceivedUUID
			if recv == "" {
				recv = "-"
			}
			fmt.Fprintf(tw, "%d%s\t%t\t%s\t%s\n", r.Rev, mark, r.Readonly, esc(r.UUID), esc(recv))
		}
	}
	if len(m.Toolchains) > 0 {
		printImages(tw, m.Toolchains)
	}
	if len(m.Snapshots) > 0 {
		fmt.Fprintln(tw, "\nSNAPSHOT\tTOOLCHAIN\tLEASE")
		for _, s := range m.Snapshots {
			lease := "none (not made by bmsched)"
			if s.Lease != nil {
				lease = fmt.Sprint(*s.Lease)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", esc(s.Name), esc(s.Toolchain), lease)
		}
	}
	if len(m.Strays) > 0 {
		fmt.Fprintln(tw, "\nSTRAY\tREASON")
		for _, s := range m.Strays {
			fmt.Fprintf(tw, "%s\t%s\n", esc(s.Name), escText(s.Reason))
		}
	}
	return tw.Flush()
}

// printImages lists a machine's images, with the warm pool's ready
// snapshots of each when the daemon keeps a pool.
func printImages(tw io.Writer, ts []api.Toolchain) {
	if ts[0].Warm == nil {
		fmt.Fprintln(tw, "\nIMAGE\tBASE\tREAD-ONLY\tUUID")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", esc(t.Name), base(t), t.Readonly, esc(t.UUID))
		}
		return
	}
	fmt.Fprintln(tw, "\nIMAGE\tBASE\tREAD-ONLY\tWARM\tUUID")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%d\t%s\n", esc(t.Name), base(t), t.Readonly, *t.Warm, esc(t.UUID))
	}
}

func current(c *uint64) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprint(*c)
}

func revisions(rs []api.Revision) string {
	if len(rs) == 0 {
		return "-"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprint(r.Rev)
	}
	return strings.Join(s, ",")
}

func base(t api.Toolchain) string {
	b := "?"
	if t.BaseRevision != nil {
		b = fmt.Sprint(*t.BaseRevision)
	}
	if t.Stale {
		b += " (stale)"
	}
	return b
}

// images renders "stage@1(stale) gcc@2".
func images(ts []api.Toolchain) string {
	if len(ts) == 0 {
		return "-"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		b := "?"
		if t.BaseRevision != nil {
			b = fmt.Sprint(*t.BaseRevision)
		}
		s[i] = esc(t.Name) + "@" + b
		if t.Stale {
			s[i] += "(stale)"
		}
	}
	return strings.Join(s, " ")
}

func age(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String()
}
