package daemoncli

import (
	"log/slog"
	"os/user"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/server"
	"github.com/bmsched/bmsched/internal/version"
)

// checkServeFlags refuses (exit 2) the serve flags out of their bounds,
// before anything is opened.
func checkServeFlags(c *cli.Context) error {
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
	return nil
}

// operatorsGID is the gid of serve --operators GROUP, 0 for none.
func operatorsGID(group string) (int, error) {
	if group == "" {
		return 0, nil
	}
	grp, err := user.LookupGroup(group)
	if err != nil {
		return 0, exitf(2, "--operators: %v", err)
	}
	gid, _ := strconv.Atoi(grp.Gid)
	return gid, nil
}

// serveConfig is the daemon's configuration from serve's flags, which
// checkServeFlags has checked.
func serveConfig(c *cli.Context, log *slog.Logger, opsGID int) server.Config {
	return server.Config{
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
		// through a request; only a build tagged bmsched_crash has
		// them.
		CrashAt: string(crash.Armed()),

		Toolchains:   c.StringSlice("toolchains"),
		Operators:    c.String("operators"),
		OperatorsGID: opsGID,
		GCOnBoot:     c.Bool("gc-on-boot"),
		BuildUser:    c.String("build-user"),

		ReconcileEvery: c.Duration("reconcile-every"),
		Version:        version.Get().Version,
		MetricsListen:  c.String("metrics-listen"),
	}
}
