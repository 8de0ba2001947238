package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/version"
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

// printVersion is what `bmsched version` and `bmsched --version` print.
func printVersion(w io.Writer, asJSON bool) error {
	v := version.Get()
	if asJSON {
		return printJSON(w, v)
	}
	_, err := fmt.Fprintf(w, "bmsched %s\ncommit %s\n%s\n", v.Version, v.Commit, v.Go)
	return err
}

func init() {
	// --version agrees with `bmsched version`, --json included.
	cli.VersionPrinter = func(c *cli.Context) { _ = printVersion(c.App.Writer, c.Bool("json")) }
}
