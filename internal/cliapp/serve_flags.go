package cliapp

import (
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// The daemon's defaults, as serve's help shows them. They are the
// server's (internal/server), repeated here so that the client need not
// link the server to print them; a test in internal/daemoncli keeps them
// equal.
const (
	DefaultMaxHold         = 24 * time.Hour
	DefaultBuildUser       = "build"
	DefaultReadTimeout     = 10 * time.Second
	DefaultIdleTimeout     = time.Minute
	DefaultMaxConnsPerUser = 128
	DefaultWarmIdle        = 10 * time.Minute
	MaxWarm                = 64
)

// ServeFlags are serve's flags, each also read from BMSCHED_<FLAG>, so that
// a unit's EnvironmentFile= configures the daemon without editing
// ExecStart.
func ServeFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "machines", Value: "/build/machines", Usage: "machines root holding the volumes"},
		&cli.StringFlag{Name: "db", Value: "/var/lib/bmsched/bmsched.db", Usage: "database file (keep it off the machine volume)"},
		&cli.StringFlag{Name: "driver", Value: "auto", Usage: "storage driver: auto, btrfs or plain"},
		&cli.IntFlag{Name: "max-leases", Usage: "leases at once on the host (the worker count); 0 for no limit"},
		&cli.IntFlag{Name: "max-leases-per-machine", Usage: "leases at once per machine; 0 for no limit"},
		&cli.IntFlag{Name: "max-leases-per-user", Usage: "leases at once of one non-root user; 0 for no limit"},
		&cli.DurationFlag{Name: "max-hold", Value: DefaultMaxHold, Usage: "the longest release --hold may keep a snapshot"},
		&cli.StringSliceFlag{Name: "toolchains", Usage: "configured toolchains (a,b); gc --boot deletes images of others"},
		&cli.StringFlag{Name: "operators", Usage: "group whose members may run operator commands (default: root only)"},
		&cli.StringFlag{Name: "build-user", Usage: "USER[:GROUP] owning what add, upgrade and bootstrap make unless --owner says otherwise (default: " + DefaultBuildUser + " when that user exists, else the daemon's user)"},
		&cli.BoolFlag{Name: "gc-on-boot", Usage: "run gc --boot at start when the host rebooted"},
		&cli.DurationFlag{Name: "reconcile-every", Value: 2 * time.Minute, Usage: "period of the full rescan that repairs what the watcher missed; at least 1s, 0 disables it"},
		&cli.DurationFlag{Name: "read-timeout", Value: DefaultReadTimeout, Usage: "time a client has to send a request's headers and body"},
		&cli.DurationFlag{Name: "idle-timeout", Value: DefaultIdleTimeout, Usage: "close a connection idle between requests after DUR"},
		&cli.IntFlag{Name: "max-conns-per-user", Value: DefaultMaxConnsPerUser, Usage: "connections one user may have open at once; keep it above the workers that run as one user (root, operators and the daemon's user are never capped); 0 for no cap"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text (key=value lines) or json (one object a line)"},
		&cli.StringFlag{Name: "metrics-listen", Usage: "also serve Prometheus metrics (GET /metrics, nothing else) on this TCP HOST:PORT; the socket serves them in any case"},
		&cli.IntFlag{Name: "warm", Usage: "the warm pool: writable snapshots to keep ready (in .bmsched-warm-pool of the machine's directory) of each image acquired within --warm-idle, so that an acquire takes one by rename; 0 for no pool (at most " + strconv.Itoa(MaxWarm) + ")"},
		&cli.StringSliceFlag{Name: "warm-for", Usage: "MACHINE=N, MACHINE/TOOLCHAIN=N or VOLUME/MACHINE/TOOLCHAIN=N: keep N ready of these images instead of --warm (the most specific wins; repeat the flag, or separate with commas)"},
		&cli.DurationFlag{Name: "warm-idle", Value: DefaultWarmIdle, Usage: "drain an image's warm pool once it has not been acquired for DUR"},
	}
	for _, f := range flags {
		setEnvVar(f, EnvName(f.Names()[0]))
	}
	return flags
}

// EnvName is the variable that stands for flag name: BMSCHED_MAX_LEASES
// for --max-leases.
func EnvName(flag string) string {
	return "BMSCHED_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// setEnvVar names the variable a flag is read from when not given.
func setEnvVar(f cli.Flag, env string) {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.EnvVars = []string{env}
	case *cli.IntFlag:
		f.EnvVars = []string{env}
	case *cli.BoolFlag:
		f.EnvVars = []string{env}
	case *cli.DurationFlag:
		f.EnvVars = []string{env}
	case *cli.StringSliceFlag:
		f.EnvVars = []string{env}
	default:
		// A new kind of flag must be added here, or the unit cannot set it.
		panic("serve flag " + f.Names()[0] + ": no environment variable for its type")
	}
}
