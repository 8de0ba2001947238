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
			q := url.Values{"m": c.Args().Slice()}
			var out api.List
			if err := client(c).Do(c.Context, "GET", "/v1/machines?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, out)
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
