package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/cliapp"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print this client's version, commit and Go version",
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			return printVersion(c.App.Writer, c.Bool("json"))
		},
	}
}

// printVersion is what `bmsched version` prints.
func printVersion(w io.Writer, asJSON bool) error {
	return cliapp.PrintVersion(w, "bmsched", asJSON)
}
