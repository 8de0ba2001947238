package main

import (
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/server"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the daemon: own the database, watch the volumes, answer on the socket",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "machines", Value: "/build/machines", Usage: "machines root holding the volumes"},
			&cli.StringFlag{Name: "db", Value: "/var/lib/bmsched/bmsched.db", Usage: "database file (keep it off the machine volume)"},
			&cli.StringFlag{Name: "driver", Value: "auto", Usage: "storage driver: auto, btrfs or plain"},
			&cli.IntFlag{Name: "max-leases", Usage: "leases at once on the host (the worker count); 0 for no limit"},
			&cli.IntFlag{Name: "max-leases-per-machine", Usage: "leases at once per machine; 0 for no limit"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
				return exitf(2, "--log-level %q: use debug, info, warn or error", c.String("log-level"))
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctx, stop := signalContext(c)
			defer stop()
			return server.Run(ctx, server.Config{
				Machines: c.String("machines"),
				DB:       c.String("db"),
				Socket:   c.String("socket"),
				Driver:   c.String("driver"),
				Log:      log,

				MaxLeases:     c.Int("max-leases"),
				MaxPerMachine: c.Int("max-leases-per-machine"),
				// Crash points let the tests kill the daemon half way
				// through a request; nothing else sets this.
				CrashAt: os.Getenv("BMSCHED_CRASH_AT"),
			}, nil)
		},
	}
}
