package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/metrics"
	"github.com/bmsched/bmsched/internal/rootlock"
)

// Run starts the daemon and serves until ctx is done; then it stops
// accepting clients, lets running requests finish, removes its socket and
// closes the database. ready, if not nil, is closed once clients are
// accepted.
func Run(ctx context.Context, cfg Config, ready chan<- struct{}) error {
	cfg, build, err := checkConfig(cfg.withDefaults())
	if err != nil {
		return err
	}
	held, err := holdRoot(cfg)
	if err != nil {
		return err
	}
	defer held.release()
	s, err := newServer(cfg, held, build)
	if err != nil {
		return err
	}
	defer s.stopWatch() // if start fails half way; a second stop is harmless
	err = s.start()
	if s.leases != nil {
		defer s.leases.Stop()
	}
	if err != nil {
		return err
	}

	// Whatever way Run returns, the goroutines it starts stop before the
	// database closes.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.watchVolumes(ctx)

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
	return s.serve(ctx, ln, ready)
}

// checkConfig checks what can be checked before anything is opened or
// recovered, and makes the machines root absolute.
func checkConfig(cfg Config) (Config, BuildUser, error) {
	// A --socket that names something other than a stale socket stops
	// the start untouched.
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

// rootHold is what the daemon holds for its life: the root's lock, the
// root's lease id mark and the database.
type rootHold struct {
	lock *rootlock.Lock
	ids  *rootlock.IDs
	db   *db.DB
}

// holdRoot takes the root first: a second daemon on this root, whatever
// its database, must stop before it scans or recovers anything. Then it
// opens the database.
func holdRoot(cfg Config) (*rootHold, error) {
	lock, err := takeRoot(cfg.Machines)
	if err != nil {
		return nil, err
	}
	ids, err := lock.IDs()
	if err != nil {
		lock.Release()
		return nil, err
	}
	d, err := openDB(cfg.DB)
	var damaged *db.DamagedError
	if errors.As(err, &damaged) {
		// The fix names the root this daemon was given.
		damaged.Machines = cfg.Machines
	}
	if err != nil {
		ids.Close()
		lock.Release()
		return nil, err
	}
	return &rootHold{lock: lock, ids: ids, db: d}, nil
}

// release closes the database, then lets the root go.
func (h *rootHold) release() {
	h.db.Close()
	h.ids.Close()
	h.lock.Release()
}

// newServer makes the daemon's parts over what it holds; start brings
// them up.
func newServer(cfg Config, h *rootHold, build BuildUser) (*Server, error) {
	inv, err := inventory.New(cfg.Machines, h.db, cfg.Driver)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, db: h.db, inv: inv, log: cfg.Log, ids: h.ids, build: build, volumes: volumeChanges{wake: make(chan struct{}, 1)}}
	inv.OnVolume = s.volumes.push
	s.metrics = metrics.New(s.metricsState)
	s.mon = newMonitor(s.metrics)
	inv.OnRescan = s.mon.rescanned
	return s, nil
}

// serve answers clients on ln until ctx is done or serving fails; then it
// lets running requests finish (10s at most) and stops the watcher.
func (s *Server) serve(ctx context.Context, ln net.Listener, ready chan<- struct{}) error {
	hs := s.httpServer()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(newPeerListener(ln, s.cfg.MaxConnsPerUser, s.privileged, s.log)) }()
	s.log.Info("serving", "socket", ln.Addr().String(), "activated", s.cfg.Listener != nil, "machines", s.cfg.Machines, "db", s.cfg.DB, "build-user", fmt.Sprintf("%s (%d:%d)", s.build.Name, s.build.UID, s.build.GID))
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

// openDB opens the database; one that another daemon holds is refused
// (exit 5).
func openDB(path string) (*db.DB, error) {
	d, err := db.Open(path, db.Options{})
	if errors.Is(err, db.ErrHeld) {
		return nil, errkind.Errorf(errkind.Refused, "%w", err)
	}
	return d, err
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
