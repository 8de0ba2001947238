package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/server"
)

func dbRebuildCommand(dbFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "rebuild",
		Usage: "make a new database from the machines root: every tagged snapshot is adopted as an orphaned lease",
		Description: "For a lost or damaged database. The daemon must be stopped (it holds the root). " +
			"An existing --db is kept beside the new one with --force, and refused without.",
		Flags: []cli.Flag{
			dbFlag,
			&cli.StringFlag{Name: "machines", Value: "/build/machines", Usage: "machines root holding the volumes"},
			&cli.StringFlag{Name: "driver", Value: "auto", Usage: "storage driver: auto, btrfs or plain"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing database file, keeping it as FILE.old-TIME"},
		},
		Action: func(c *cli.Context) error {
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
		},
	}
}
