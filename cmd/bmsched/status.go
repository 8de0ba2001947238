package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "the daemon's health: version, uptime, volumes, database, counts by state, watcher, last gc and errors",
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			var st api.Status
			if err := client(c).Do(c.Context, "GET", "/v1/status", nil, &st); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, st)
			}
			return printStatus(c.App.Writer, st)
		},
	}
}

// printStatus prints a status one topic a line, in the order an operator
// looking for trouble reads it.
func printStatus(w io.Writer, st api.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	up := (time.Duration(st.Uptime * float64(time.Second))).Round(time.Second)
	fmt.Fprintf(tw, "daemon\tbmsched %s, pid %d, up %s (since %s)\n", esc(st.Version), st.PID, up, st.Started.Local().Format(time.DateTime))
	fmt.Fprintf(tw, "machines root\t%s\n", esc(st.Machines))
	if st.MetricsListen != "" {
		fmt.Fprintf(tw, "metrics\thttp://%s/metrics\n", st.MetricsListen)
	}
	fmt.Fprintf(tw, "database\t%s, %s, %d commits since start\n", esc(st.Database.Path), bytesOf(st.Database.Size), st.Database.Commits)
	for i, v := range st.Volumes {
		label := ""
		if i == 0 {
			label = "volumes"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, volumeLine(v))
	}
	fmt.Fprintf(tw, "machines\t%s; %d stale images\n", byState(st.MachineStates), st.ImagesStale)
	fmt.Fprintf(tw, "leases\t%s; %d waiting\n", byState(st.LeaseStates), st.Waiting)
	for _, h := range st.Holds {
		until := "?"
		if h.Until != nil {
			until = h.Until.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "hold\tlease %d until %s: %s\n", h.Lease, until, esc(h.Path))
	}
	if w := st.Warm; w != nil {
		fmt.Fprintf(tw, "warm pool\t%d ready for %d images (--warm %d); %d hits, %d misses, %d made, %d drained\n",
			w.Ready, w.Images, w.PerImage, w.Hits, w.Misses, w.Refills, w.Drained)
	}
	fmt.Fprintf(tw, "watcher\t%s\n", watcherLine(st.Watcher))
	fmt.Fprintf(tw, "last gc\t%s\n", gcLine(st.LastGC))
	printErrors(tw, st.Errors)
	return tw.Flush()
}

func volumeLine(v api.VolumeStatus) string {
	s := esc(v.Name) + " " + v.State
	if v.Driver != "" {
		s += " (" + v.Driver + ")"
	}
	if v.Error != "" {
		s += ": " + escText(v.Error)
	}
	return s
}

// byState prints counts in a fixed order, so that lines compare.
func byState(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], esc(k))
	}
	return strings.Join(parts, ", ")
}

func watcherLine(ws api.WatcherStatus) string {
	s := fmt.Sprintf("%d watches, %d events, %d overflows, %d errors", ws.Watches, ws.Events, ws.Overflows, ws.Errors)
	if ws.Unwatched > 0 {
		s += fmt.Sprintf(", %d directories unwatched", ws.Unwatched)
	}
	if r := ws.LastRescan; r != nil {
		took := time.Duration(r.Duration * float64(time.Second)).Round(time.Microsecond)
		s += fmt.Sprintf("; %d full rescans, the last (%s) %s ago took %s", ws.Rescans, r.Source, age(r.Time), took)
		if r.Error != "" {
			s += ": " + escText(r.Error)
		}
	}
	return s
}

func gcLine(gc *api.GCRun) string {
	if gc == nil {
		return "none since start"
	}
	what := "gc"
	if gc.Boot {
		what += " --boot"
	}
	if gc.DryRun {
		what += " --dry-run"
	}
	s := fmt.Sprintf("%s %s ago: %d actions, %d kept", what, age(gc.Time), gc.Actions, gc.Kept)
	if gc.Error != "" {
		s += "; failed: " + escText(gc.Error)
	}
	return s
}

func printErrors(w io.Writer, errs map[string]api.LastError) {
	if len(errs) == 0 {
		fmt.Fprintf(w, "errors\tnone since start\n")
		return
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for i, k := range kinds {
		label := ""
		if i == 0 {
			label = "errors"
		}
		e := errs[k]
		fmt.Fprintf(w, "%s\t%s (%d since start, last %s ago): %s\n", label, esc(k), e.Count, age(e.Time), escText(e.Message))
	}
}

// bytesOf prints a size in binary units.
func bytesOf(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGTP"[i])
}
