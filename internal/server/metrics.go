package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/bmsched/bmsched/internal/metrics"
	"github.com/bmsched/bmsched/internal/watch"
)

// metricsState is what a scrape reads: the records counted now, the
// queue, and the counters the watcher and the database keep.
func (s *Server) metricsState() (metrics.State, error) {
	c, err := s.takeCensus()
	if err != nil {
		return metrics.State{}, err
	}
	st := metrics.State{Leases: c.leases, Machines: c.machines, ImagesStale: c.stale, DBCommits: s.db.Commits()}
	if s.leases != nil {
		st.Waiting = len(s.leases.Waiting())
	}
	ws := s.watchStats()
	st.WatchEvents, st.WatchOverflows = uint64(ws.Events), uint64(ws.Overflows)
	if s.pool != nil {
		w := s.pool.Stats()
		st.WarmReady, st.WarmHits, st.WarmMisses, st.WarmRefills, st.WarmDrained = w.Ready, w.Hits, w.Misses, w.Refills, w.Drained
	}
	if st.DBSize, err = s.db.Size(); err != nil {
		return st, err
	}
	return st, nil
}

// watchStats are the watcher's counters; zero before it started.
func (s *Server) watchStats() watch.Stats {
	if s.watch == nil {
		return watch.Stats{}
	}
	return s.watch.Stats()
}

// serveMetrics serves GET /metrics alone on addr (serve --metrics-listen),
// for a Prometheus that cannot reach the Unix socket. Nothing else of the
// API is exposed there: the TCP port has no peer credentials to decide
// who may do what. stop closes it.
func (s *Server) serveMetrics(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve --metrics-listen %s: %w (give a free HOST:PORT, or leave the flag out)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener stopped", "addr", addr, "err", err)
		}
	}()
	s.metricsAddr = ln.Addr().String()
	s.log.Info("serving metrics", "addr", s.metricsAddr)
	return func() { hs.Close() }, nil
}
