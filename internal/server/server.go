// Package server is the bmsched daemon: it owns the database, keeps the
// inventory true, and answers clients on a Unix socket with HTTP and JSON.
package server

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/lease"
	"github.com/bmsched/bmsched/internal/metrics"
	"github.com/bmsched/bmsched/internal/ops"
	"github.com/bmsched/bmsched/internal/rootlock"
	"github.com/bmsched/bmsched/internal/warm"
	"github.com/bmsched/bmsched/internal/watch"
)

// Config is what `bmsched serve` is told.
type Config struct {
	Machines string // machines root
	DB       string // database file
	Socket   string
	// Listener, when not nil, is the socket the service manager made and
	// passed (socket activation); Socket is then not created nor removed.
	Listener net.Listener
	Driver   string // "auto", "btrfs" or "plain"
	BootID   string // this boot's id; read from the kernel when empty
	Log      *slog.Logger

	MaxLeases     int // host capacity; 0 for none
	MaxPerMachine int // capacity per machine; 0 for none
	MaxPerUser    int // leases of one non-root uid; 0 for no limit
	// MaxHold caps release --hold; 0 for DefaultMaxHold.
	MaxHold time.Duration
	CrashAt string // a crash point armed by tests

	Toolchains   []string // configured toolchains; gc --boot deletes images of others
	Operators    string   // group whose members may run operator commands; "" for root only
	OperatorsGID int      // its gid
	GCOnBoot     bool     // run gc --boot when the boot id changed

	// BuildUser (USER[:GROUP]) owns what add, upgrade and bootstrap make
	// unless a command names an owner; "" for LookupBuildUser's default.
	BuildUser string
	// Bounds on clients: the time to read a request's headers and body
	// (0 for DefaultReadTimeout), the time an idle connection stays open
	// (0 for DefaultIdleTimeout), and the connections one user other than
	// root, the operators and the daemon's own may have open (0 for no
	// cap).
	ReadTimeout     time.Duration
	IdleTimeout     time.Duration
	MaxConnsPerUser int

	// ReconcileEvery is the period of the full rescan that repairs what
	// the watcher's events missed; 0 for none.
	ReconcileEvery time.Duration

	// Version is the daemon's version, as `bmsched status` reports it.
	Version string
	// MetricsListen is a TCP HOST:PORT serving GET /metrics alone; "" for
	// none (the Unix socket serves it in any case).
	MetricsListen string

	// Warm is the warm pool's configuration (serve --warm, --warm-for,
	// --warm-idle); a zero one keeps no pool.
	Warm warm.Config
}

// DefaultMaxHold is the longest release --hold unless serve --max-hold
// says otherwise: a day is enough to look at a failed build, and a held
// snapshot keeps its disk space.
const DefaultMaxHold = 24 * time.Hour

// Server is a running daemon.
type Server struct {
	cfg    Config
	db     *db.DB
	inv    *inventory.Inventory
	leases *lease.Scheduler
	ops    *ops.Ops
	log    *slog.Logger
	ids    *rootlock.IDs // the root's lease id mark
	build  BuildUser

	watch *watch.Watcher // keeps the database true to the volumes (watch.go)
	// pool keeps snapshots ready for acquires (serve --warm). It runs
	// with the pool off too: it removes warm snapshots left by a daemon
	// that ran with it, and drains a machine being deleted.
	pool    *warm.Pool
	metrics *metrics.Metrics
	mon     *monitor // what status tells beyond the database (monitor.go)
	// metricsAddr is where serve --metrics-listen bound; "" when off.
	metricsAddr string
	volumes     volumeChanges // volumes whose filesystem changed (volumes.go)
	followers   followers     // ends the event streams at shutdown
	renders     leaseRenders  // the leases answer's entries, kept until their record changes
}

// httpServer answers clients within the bounds on slow and idle ones.
func (s *Server) httpServer() *http.Server {
	hs := &http.Server{
		Handler:           bodyDeadline(s.routes(), s.cfg.ReadTimeout),
		ConnContext:       withPeer,
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(s.followers.stop)
	return hs
}

// withDefaults fills in what the caller left zero.
func (cfg Config) withDefaults() Config {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxHold == 0 {
		cfg.MaxHold = DefaultMaxHold
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	return cfg
}
