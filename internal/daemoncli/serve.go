package daemoncli

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
	"github.com/bmsched/bmsched/internal/sdlisten"
	"github.com/bmsched/bmsched/internal/server"
	"github.com/bmsched/bmsched/internal/version"
)

// serve runs the daemon until SIGINT or SIGTERM.
func serve(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	log, err := serveLog(c.String("log-format"), c.String("log-level"))
	if err != nil {
		return err
	}
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
	ln, err := sdlisten.Listener(socketName)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(c)
	defer stop()
	ready, finish := startNotify(ctx, socketPath(ln, c.String("socket")), log)
	defer finish()
	err = server.Run(ctx, server.Config{
		Machines: c.String("machines"),
		DB:       c.String("db"),
		Socket:   c.String("socket"),
		Listener: ln,
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
	}, ready)
	if errors.Is(err, fs.ErrPermission) {
		// Refused: the database or a directory is not this user's.
		return exitf(api.ExitRefused, "%v", err)
	}
	return err
}

// quietLog logs warnings and errors only, for the demo.
func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// serveLog is the daemon's logger, on stderr (the journal under systemd).
func serveLog(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, exitf(2, "--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, exitf(2, "--log-format %q: use text or json", format)
}
