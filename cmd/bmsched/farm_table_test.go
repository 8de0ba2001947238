package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// farmTable is the benchmark's one table: a row a measurement, bmsched's
// figure beside btrfs-progs's where there is one to compare with.
type farmTable struct{ rows [][5]string }

func (t *farmTable) add(scale, what, bmsched, btrfs, ratio, target string) {
	t.rows = append(t.rows, [5]string{scale, what, bmsched, btrfs, ratio + "  " + target})
}

func (t *farmTable) print(w io.Writer, title string) {
	fmt.Fprintf(w, "\n%s\n(ratio: bmsched's time over btrfs-progs's, or its rate below btrfs-progs's; target after it)\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scale\tmeasure\tbmsched\tbtrfs-progs\tratio  target")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3], r[4])
	}
	tw.Flush()
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func pcts(ds []time.Duration) string {
	return fmt.Sprintf("%s (%s)", ms(percentile(ds, 50)), ms(percentile(ds, 90)))
}
