package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/metrics"
)

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
