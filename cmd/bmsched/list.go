package main

import (
	"net/url"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "machines with their states, revisions, images, snapshots and leases",
		ArgsUsage: "[MACHINE...]",
		Action: func(c *cli.Context) error {
			path := "/v1/machines?" + url.Values{"m": c.Args().Slice()}.Encode()
			if c.Bool("json") {
				return printRaw(c, path)
			}
			var out api.List
			if err := client(c).Do(c.Context, "GET", path, nil, &out); err != nil {
				return err
			}
			return printList(c.App.Writer, out)
		},
	}
}

func showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "one machine in full",
		ArgsUsage: "MACHINE",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			var out api.Machine
			if err := client(c).Do(c.Context, "GET", "/v1/machine?"+url.Values{"m": a}.Encode(), nil, &out); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, out)
			}
			return printMachine(c.App.Writer, out)
		},
	}
}

// printRaw prints the daemon's answer to GET path as it came: list and
// leases answers are streamed in the very form --json prints, and at
// thousands of machines or leases decoding and encoding them again would
// cost more than the daemon's work.
func printRaw(c *cli.Context, path string) error {
	b, err := client(c).Raw(c.Context, "GET", path)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(b)
	return err
}
