package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/fsscan"
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
			&cli.IntFlag{Name: "max-leases-per-user", Usage: "leases at once of one non-root user; 0 for no limit"},
			&cli.DurationFlag{Name: "max-hold", Value: server.DefaultMaxHold, Usage: "the longest release --hold may keep a snapshot"},
			&cli.StringSliceFlag{Name: "toolchains", Usage: "configured toolchains (a,b); gc --boot deletes images of others"},
			&cli.StringFlag{Name: "operators", Usage: "group whose members may run operator commands (default: root only)"},
			&cli.StringFlag{Name: "build-user", Usage: "USER[:GROUP] owning what add, upgrade and bootstrap make unless --owner says otherwise (default: " + server.DefaultBuildUser + " when that user exists, else the daemon's user)"},
			&cli.BoolFlag{Name: "gc-on-boot", Usage: "run gc --boot at start when the host rebooted"},
			&cli.DurationFlag{Name: "reconcile-every", Value: 2 * time.Minute, Usage: "period of the full rescan that repairs what the watcher missed; at least 1s, 0 disables it"},
			&cli.DurationFlag{Name: "read-timeout", Value: server.DefaultReadTimeout, Usage: "time a client has to send a request's headers and body"},
			&cli.DurationFlag{Name: "idle-timeout", Value: server.DefaultIdleTimeout, Usage: "close a connection idle between requests after DUR"},
			&cli.IntFlag{Name: "max-conns-per-user", Value: server.DefaultMaxConnsPerUser, Usage: "connections one user may have open at once; keep it above the workers that run as one user (root, operators and the daemon's user are never capped); 0 for no cap"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "metrics-listen", Usage: "also serve Prometheus metrics (GET /metrics, nothing else) on this TCP HOST:PORT; the socket serves them in any case"},
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
			switch c.String("driver") {
			case "auto", "btrfs", "plain":
			default:
				return exitf(2, "--driver %q: use auto, btrfs or plain", c.String("driver"))
			}
			for _, f := range []string{"max-leases", "max-leases-per-machine", "max-leases-per-user", "max-conns-per-user"} {
				if c.Int(f) < 0 {
					return exitf(2, "--%s %d: use a positive number, or 0 for no limit", f, c.Int(f))
				}
			}
			for _, t := range c.StringSlice("toolchains") {
				if err := fsscan.ValidNewToolchain(t); err != nil {
					return exitf(2, "--toolchains: %v", err)
				}
			}
			var opsGID int
			if g := c.String("operators"); g != "" {
				grp, err := user.LookupGroup(g)
				if err != nil {
					return exitf(2, "--operators: %v", err)
				}
				opsGID, _ = strconv.Atoi(grp.Gid)
			}
			for _, f := range []string{"max-hold", "read-timeout", "idle-timeout"} {
				if c.Duration(f) <= 0 {
					return exitf(2, "--%s %s: must be positive", f, c.Duration(f))
				}
			}
			switch d := c.Duration("reconcile-every"); {
			case d < 0:
				return exitf(2, "--reconcile-every %s: must not be negative (0 disables the reconcile)", d)
			case d > 0 && d < time.Second:
				// A full rescan every few nanoseconds spins a core.
				return exitf(2, "--reconcile-every %s: must be at least 1s, or 0 to disable the reconcile", d)
			}
			// Checked here too, so that a wrong name is a usage error
			// before anything is opened.
			if _, err := server.LookupBuildUser(c.String("build-user")); err != nil {
				return err
			}
			ctx, stop := signalContext(c)
			defer stop()
			err := server.Run(ctx, server.Config{
				Machines: c.String("machines"),
				DB:       c.String("db"),
				Socket:   c.String("socket"),
				Driver:   c.String("driver"),
				Log:      log,

				MaxLeases:     c.Int("max-leases"),
				MaxPerMachine: c.Int("max-leases-per-machine"),
				MaxPerUser:    c.Int("max-leases-per-user"),
				MaxHold:       c.Duration("max-hold"),

				ReadTimeout:     c.Duration("read-timeout"),
				IdleTimeout:     c.Duration("idle-timeout"),
				MaxConnsPerUser: c.Int("max-conns-per-user"),
				// Crash points let the tests kill the daemon half way
				// through a request; nothing else sets this.
				CrashAt: os.Getenv(crash.EnvVar),

				Toolchains:   c.StringSlice("toolchains"),
				Operators:    c.String("operators"),
				OperatorsGID: opsGID,
				GCOnBoot:     c.Bool("gc-on-boot"),
				BuildUser:    c.String("build-user"),

				ReconcileEvery: c.Duration("reconcile-every"),
				Version:        version,
				MetricsListen:  c.String("metrics-listen"),
			}, nil)
			if errors.Is(err, fs.ErrPermission) {
				// Refused: the database or a directory is not this user's.
				return exitf(api.ExitRefused, "%v", err)
			}
			return err
		},
	}
}

// quietLog logs warnings and errors only, for the demo.
func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
