package daemoncli

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/sdlisten"
	"github.com/bmsched/bmsched/internal/server"
	"github.com/bmsched/bmsched/internal/warm"
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
	if err := checkServeFlags(c); err != nil {
		return err
	}
	opsGID, err := operatorsGID(c.String("operators"))
	if err != nil {
		return err
	}
	warmCfg, err := warmConfig(c)
	if err != nil {
		return err
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
	cfg := serveConfig(c, log, opsGID)
	cfg.Listener = ln
	cfg.Warm = warmCfg
	err = server.Run(ctx, cfg, ready)
	if errors.Is(err, fs.ErrPermission) {
		// Refused: the database or a directory is not this user's.
		return exitf(api.ExitRefused, "%v", err)
	}
	return err
}

// warmConfig reads --warm, --warm-for and --warm-idle.
func warmConfig(c *cli.Context) (warm.Config, error) {
	cfg := warm.Config{PerImage: c.Int("warm"), Idle: c.Duration("warm-idle")}
	if cfg.PerImage < 0 || cfg.PerImage > warm.MaxPerImage {
		return cfg, exitf(2, "--warm %d: use 0 (no pool) to %d", cfg.PerImage, warm.MaxPerImage)
	}
	if cfg.Idle <= 0 {
		return cfg, exitf(2, "--warm-idle %s: must be positive", cfg.Idle)
	}
	for _, s := range c.StringSlice("warm-for") {
		t, err := warm.ParseTarget(s)
		if err != nil {
			return cfg, exitf(2, "%v", err)
		}
		cfg.For = append(cfg.For, t)
	}
	return cfg, nil
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
