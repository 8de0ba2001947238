package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "the daemon's event log: what changed, when, and who changed it",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "n", Value: 50, Usage: "how many of the newest events"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			var out api.Events
			if err := client(c).Do(c.Context, "GET", fmt.Sprintf("/v1/events?n=%d", c.Int("n")), nil, &out); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, out)
			}
			for _, e := range out.Events {
				printEvent(c.App.Writer, e)
			}
			return nil
		},
	}
}

func printEvent(w io.Writer, e api.Event) {
	where := ""
	if e.Machine != "" {
		where = e.Volume + "/" + e.Machine + " "
	}
	fmt.Fprintf(w, "%s %-6s %-18s %s%s\n", e.Time.Local().Format(time.DateTime), e.Source, e.Kind, where, e.Message)
}
