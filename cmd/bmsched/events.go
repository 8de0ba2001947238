package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
		Description: "With --follow, prints the newest events and then each new one as it happens,\n" +
			"until interrupted; with --json, one JSON object a line.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "n", Value: 50, Usage: "how many of the newest events (with --follow, 0 for only new ones)"},
			&cli.Uint64Flag{Name: "after", Usage: "the events after this sequence number instead of the newest (to resume)"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing events as they happen, until interrupted"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			if c.Int("n") < 0 {
				return exitf(api.ExitUsage, "-n %d: not a count", c.Int("n"))
			}
			query := fmt.Sprintf("?n=%d", c.Int("n"))
			if c.IsSet("after") {
				query = fmt.Sprintf("?after=%d", c.Uint64("after"))
			}
			if c.Bool("follow") {
				return followEvents(c, query)
			}
			var out api.Events
			if err := client(c).Do(c.Context, "GET", "/v1/events"+query, nil, &out); err != nil {
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

// followEvents prints the daemon's stream of events until SIGINT or
// SIGTERM, which end it without error.
func followEvents(c *cli.Context, query string) error {
	ctx, stop := signalContext(c)
	defer stop()
	body, err := client(c).Stream(ctx, "GET", "/v1/events/follow"+query)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := c.Uint64("after")
	for sc.Scan() {
		var e api.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("read event stream: %w", err)
		}
		last = e.Seq
		if c.Bool("json") {
			// One object a line, as the daemon sent it, for jq and scripts.
			if _, err := fmt.Fprintf(c.App.Writer, "%s\n", sc.Bytes()); err != nil {
				return err
			}
			continue
		}
		printEvent(c.App.Writer, e)
	}
	switch err := sc.Err(); {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return nil // interrupted: the way a follow ends
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("read event stream: %w", err)
	}
	return fmt.Errorf("the daemon ended the event stream (did it stop?); resume with `bmsched events --follow --after %d`", last)
}

func printEvent(w io.Writer, e api.Event) {
	where := ""
	if e.Machine != "" {
		where = esc(e.Volume+"/"+e.Machine) + " "
	}
	fmt.Fprintf(w, "%s %-6s %-18s %s%s\n", e.Time.Local().Format(time.DateTime), esc(e.Source), esc(e.Kind), where, escText(e.Message))
}
