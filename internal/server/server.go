// Package server is the bmsched daemon: it owns the database, keeps the
// inventory true, and answers clients on a Unix socket with HTTP and JSON.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/crash"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
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
}

// Run starts the daemon and serves until ctx is done; then it stops
// accepting clients, lets running requests finish, removes its socket and
// closes the database. ready, if not nil, is closed once clients are
// accepted.
func Run(ctx context.Context, cfg Config, ready chan<- struct{}) error {
	cfg, build, err := prepare(cfg)
	if err != nil {
		return err
	}
	// The root next: a second daemon on this root, whatever its
	// database, must stop before it scans or recovers anything.
	lock, err := takeRoot(cfg.Machines)
	if err != nil {
		return err
	}
	defer lock.Release()
	ids, err := lock.IDs()
	if err != nil {
		return err
	}
	defer ids.Close()
	d, err := openDB(cfg.DB)
	var damaged *db.DamagedError
	if errors.As(err, &damaged) {
		// The fix names the root this daemon was given.
		damaged.Machines = cfg.Machines
	}
	if err != nil {
		return err
	}
	defer d.Close()

	inv, err := inventory.New(cfg.Machines, d, cfg.Driver)
	if err != nil {
		return err
	}
	s := &Server{cfg: cfg, db: d, inv: inv, log: cfg.Log, ids: ids, build: build, volumes: volumeChanges{wake: make(chan struct{}, 1)}}
	inv.OnVolume = s.volumes.push
	s.metrics = metrics.New(s.metricsState)
	s.mon = newMonitor(s.metrics)
	inv.OnRescan = s.mon.rescanned
	defer s.stopWatch() // if start fails half way; a second stop is harmless
	err = s.start()
	if s.leases != nil {
		defer s.leases.StopBackground()
	}
	if s.pool != nil {
		defer s.pool.Stop()
	}
	if err != nil {
		return err
	}

	// Whatever way Run returns, the goroutines it starts stop before the
	// database closes.
	ctx, cancel := context.WithCancel(ctx)
	var volumesDone sync.WaitGroup
	defer volumesDone.Wait() // after cancel: a volume's recovery under way ends first
	defer cancel()
	s.watchVolumes(ctx, &volumesDone)

	return s.serve(ctx, ready)
}

// serve answers clients on the socket until ctx is done, then lets the
// running requests finish and stops the watcher. ready, if not nil, is
// closed once clients are accepted.
func (s *Server) serve(ctx context.Context, ready chan<- struct{}) error {
	cfg, build := s.cfg, s.build
	ln, err := s.listener()
	if err != nil {
		return err
	}
	if cfg.MetricsListen != "" {
		stop, err := s.serveMetrics(cfg.MetricsListen)
		if err != nil {
			return err
		}
		defer stop()
	}

	hs := s.httpServer()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(newPeerListener(ln, cfg.MaxConnsPerUser, s.privileged, s.log)) }()
	s.log.Info("serving", "socket", ln.Addr().String(), "activated", cfg.Listener != nil, "machines", cfg.Machines, "db", cfg.DB, "build-user", fmt.Sprintf("%s (%d:%d)", build.Name, build.UID, build.GID))
	if ready != nil {
		close(ready)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	// Before the scheduler stops: the watcher's rescans end leases.
	s.stopWatch()
	return nil
}

// prepare checks what it can before anything is opened or recovered: a
// --socket that names something other than a stale socket, and the build
// user, stop the start untouched. It returns cfg with its defaults and
// the machines root made absolute.
func prepare(cfg Config) (Config, BuildUser, error) {
	cfg = cfg.withDefaults()
	if cfg.Listener == nil {
		if err := checkSocketPath(cfg.Socket); err != nil {
			return cfg, BuildUser{}, err
		}
	}
	// Snapshot paths are handed to clients in other working directories:
	// they must be absolute, whatever --machines was given as.
	abs, err := filepath.Abs(cfg.Machines)
	if err != nil {
		return cfg, BuildUser{}, fmt.Errorf("machines root %s: %w", cfg.Machines, err)
	}
	cfg.Machines = abs
	build, err := LookupBuildUser(cfg.BuildUser)
	return cfg, build, err
}

// openDB opens the database; one that another daemon holds is refused
// (exit 5).
func openDB(path string) (*db.DB, error) {
	d, err := db.Open(path, db.Options{})
	if errors.Is(err, db.ErrHeld) {
		return nil, errkind.Errorf(errkind.Refused, "%w", err)
	}
	return d, err
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

// start brings the database up to date with the host before any client is
// let in.
func (s *Server) start() error {
	boot, prev, err := s.noteStart()
	if err != nil {
		return err
	}
	// Watched before the first scan, so that whatever changes once the
	// scan has begun raises an event.
	if err := s.startWatch(); err != nil {
		return err
	}
	if err := s.inv.RescanAll("scan"); err != nil {
		// A directory that cannot be read is reported, not fatal: the rest
		// of the host still needs serving.
		s.log.Warn("initial scan incomplete", "err", err)
	}
	s.logStorage()
	s.pool = warm.New(s.cfg.Warm, s.inv, s.db, s.log)
	var pool lease.Pool // nil unless on: an acquire with the pool off is as it always was
	if s.cfg.Warm.Enabled() {
		pool = s.pool
	}
	s.leases = lease.New(lease.Config{
		MaxLeases: s.cfg.MaxLeases, MaxPerMachine: s.cfg.MaxPerMachine, MaxPerUser: s.cfg.MaxPerUser,
		BootID: boot, CrashAt: crash.Point(s.cfg.CrashAt), Log: s.log, IDs: s.ids, Observer: s.mon,
		Pool: pool,
	}, s.db, s.inv)
	// Volumes found replaced by the first scan: their leases end before
	// recovery would take their snapshots for vanished. Volumes seen for
	// the first time were watched as they are just now.
	for _, c := range s.volumes.take() {
		if !c.First {
			s.actOnVolume(c)
		}
	}
	// A record that cannot be finished or undone now (a snapshot busy
	// with a mount, say) stays as it is, to be tried again at the next
	// start; it must not keep every other build on the host waiting.
	changed, err := s.leases.Recover()
	if err != nil {
		s.recoveryFailed("leases", err)
	}
	if changed > 0 {
		// Recovery deleted snapshots: show the machines as they are now.
		if err := s.inv.RescanAll("scan"); err != nil {
			s.log.Warn("rescan after recovery incomplete", "err", err)
		}
	}
	// The pool's leftovers go before anything may fill it; a delete that
	// recovery finishes drains the machine's through the ops hook.
	s.pool.Start()
	s.ops = ops.New(ops.Config{
		Toolchains: s.cfg.Toolchains, UID: s.build.UID, GID: s.build.GID, BootID: boot, Log: s.log,
		CrashAt: crash.Point(s.cfg.CrashAt), Pool: s.pool,
	}, s.db, s.inv, s.leases)
	if err := s.ops.Recover(); err != nil {
		s.recoveryFailed("operator commands", err)
	}
	// A database that has never seen a boot is new, not rebooted: its
	// host may be running builds on snapshots it is about to adopt.
	if s.cfg.GCOnBoot && prev != "" && prev != boot {
		if _, err := s.gc(true, false, func(f string, a ...any) { s.log.Info("gc --boot: " + fmt.Sprintf(f, a...)) }); err != nil {
			s.log.Warn("gc --boot incomplete", "err", err)
		}
	}
	s.leases.StartBackground()
	s.runWatch()
	return nil
}

// noteStart records the daemon's start, and the boot when it is another
// than the database's (prev, "" for a new database).
func (s *Server) noteStart() (boot, prev string, err error) {
	boot = s.cfg.BootID
	if boot == "" {
		if boot, err = readBootID(); err != nil {
			return "", "", err
		}
	}
	s.cfg.BootID = boot
	if err := s.noteFallBack(); err != nil {
		return "", "", err
	}
	if prev, err = s.db.BootID(); err != nil {
		return "", "", err
	}
	if prev != boot {
		if err := s.db.SetBootID(boot); err != nil {
			return "", "", err
		}
		msg := "first start on this database"
		if prev != "" {
			msg = "host rebooted since the last start (boot id " + prev + ")"
		}
		if err := s.db.AppendEvents(db.Event{Source: "serve", Kind: "boot", Message: msg}); err != nil {
			return "", "", err
		}
	}
	msg := fmt.Sprintf("daemon started (pid %d) on %s", os.Getpid(), s.cfg.Machines)
	return boot, prev, s.db.AppendEvents(db.Event{Source: "serve", Kind: "started", Message: msg})
}

// noteFallBack warns of a database that lost its newest commit to a
// damaged meta page, and records it: recovery cannot tell a lease or a
// step that the lost commit recorded from one never made.
func (s *Server) noteFallBack() error {
	fb := s.db.FellBack()
	if fb == "" {
		return nil
	}
	s.log.Warn("database fell back to an earlier commit", "db", s.cfg.DB, "why", fb)
	return s.db.AppendEvents(db.Event{Source: "serve", Kind: "db-fell-back",
		Message: fmt.Sprintf("database %s: %s", s.cfg.DB, fb)})
}

// logStorage says which driver each volume got, and warns of a database
// on btrfs, where every commit costs several times what it does on ext4
// (design §4).
func (s *Server) logStorage() {
	vols, _, _ := s.inv.Volumes()
	for _, v := range vols {
		if drv, err := s.inv.Driver(v); err == nil {
			s.log.Info("volume", "name", v, "driver", drv.Name())
		} else {
			s.log.Warn("volume has no usable storage driver", "name", v, "err", err)
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(s.cfg.DB), &st); err == nil && int64(st.Type) == unix.BTRFS_SUPER_MAGIC {
		s.log.Warn("the database is on btrfs: its commits are slow there; keep it off the machine volume, or mark its directory NOCOW (chattr +C) before creating it", "db", s.cfg.DB)
	}
}

// recoveryFailed reports what recovery could not finish or undo.
func (s *Server) recoveryFailed(what string, err error) {
	s.mon.fail("recovery", fmt.Errorf("recovery of %s: %w", what, err))
	s.log.Error("recovery incomplete: serving anyway; fix the cause and restart the daemon to retry", "of", what, "err", err)
	_ = s.db.AppendEvents(db.Event{Source: "recover", Kind: "recover-failed",
		Message: fmt.Sprintf("recovery of %s incomplete (fix the cause and restart the daemon to retry): %v", what, err)})
}

// takeRoot holds the machines root for this process (rootlock): a second
// daemon, or a rebuild beside a daemon, is refused with exit 5 before it
// touches anything.
func takeRoot(root string) (*rootlock.Lock, error) {
	lock, err := rootlock.Take(root)
	var held *rootlock.HeldError
	switch {
	case errors.As(err, &held):
		return nil, errkind.Errorf(errkind.Refused, "%w", err)
	case errors.Is(err, fs.ErrPermission):
		return nil, errkind.Errorf(errkind.Refused, "%w (the daemon takes a lock in the machines root, so it needs write access there: run it as root, or as the root's owner)", err)
	case err != nil:
		return nil, fmt.Errorf("%w (create the machines root, or pass --machines DIR)", err)
	}
	return lock, nil
}

func readBootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("read boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
