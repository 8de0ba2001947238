package daemoncli

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/server"
)

// rebuild is `db rebuild`: a new database made from the machines root.
func rebuild(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	root, err := filepath.Abs(c.String("machines"))
	if err != nil {
		return err
	}
	out, err := server.Rebuild(server.RebuildConfig{
		Machines: root, DB: c.String("db"), Driver: c.String("driver"), Force: c.Bool("force"), Log: quietLog(),
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	fmt.Fprintf(c.App.Writer, "%s: rebuilt from %s: %d machines, %d snapshots adopted as orphaned leases\n", out.DB, root, out.Machines, out.Adopted)
	if out.Kept != "" {
		fmt.Fprintf(c.App.Writer, "the old database is kept as %s\n", out.Kept)
	}
	if out.Adopted > 0 {
		fmt.Fprintln(c.App.Writer, "start the daemon, then `bmsched leases` lists the orphans; `bmsched release ID` ends each once its build is done")
	}
	return nil
}
