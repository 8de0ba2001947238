package cliapp

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/version"
)

// PrintVersion is what `bmsched version` and both programs' --version
// print; program is the program's name.
func PrintVersion(w io.Writer, program string, asJSON bool) error {
	v := version.Get()
	if asJSON {
		return PrintJSON(w, v)
	}
	_, err := fmt.Fprintf(w, "%s %s\ncommit %s\n%s\n", program, v.Version, v.Commit, v.Go)
	return err
}

func init() {
	// --version agrees with `bmsched version`, --json included.
	cli.VersionPrinter = func(c *cli.Context) { _ = PrintVersion(c.App.Writer, c.App.Name, c.Bool("json")) }
}
