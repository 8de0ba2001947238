package server

import (
	"errors"
	"sync"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/lease"
	"github.com/bmsched/bmsched/internal/metrics"
)

// monitor keeps, in memory, what `bmsched status` tells beyond the
// database: when the daemon started, the last full rescan and gc, and the
// last error of each kind. An operator asks "what went wrong lately"
// without reading the logs; a restart forgets it, as the logs do not.
type monitor struct {
	started time.Time
	metrics *metrics.Metrics

	mu         sync.Mutex
	errors     map[string]api.LastError
	rescans    int
	lastRescan *api.Rescan
	lastGC     *api.GCRun
}

func newMonitor(m *metrics.Metrics) *monitor {
	return &monitor{started: time.Now(), metrics: m, errors: map[string]api.LastError{}}
}

// fail records err as the last error of its kind.
func (m *monitor) fail(kind string, err error) {
	if err == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.errors[kind]
	m.errors[kind] = api.LastError{Time: time.Now().UTC(), Message: err.Error(), Count: e.Count + 1}
}

// noteFailure records an error answered to a client when it is the
// daemon's failure (exit 1), not the client's (a usage error, a refusal,
// no capacity, a lease not found).
func (s *Server) noteFailure(kind string, err error) {
	var e *api.Error
	if !errors.As(err, &e) || e.Exit == api.ExitFailed {
		s.mon.fail(kind, err)
	}
}

// rescanned records a full rescan; a failed one is also the last
// "rescan" error.
func (m *monitor) rescanned(source string, took time.Duration, err error) {
	m.metrics.Rescanned(took)
	r := &api.Rescan{Time: time.Now().UTC(), Source: source, Duration: took.Seconds()}
	if err != nil {
		r.Error = err.Error()
		m.fail("rescan", err)
	}
	m.mu.Lock()
	m.rescans++
	m.lastRescan = r
	m.mu.Unlock()
}

// ran records a gc run; a failed one is also the last "gc" error.
func (m *monitor) ran(gc api.GCRun, err error) {
	gc.Time = time.Now().UTC()
	if err != nil {
		gc.Error = err.Error()
		m.fail("gc", err)
	}
	m.mu.Lock()
	m.lastGC = &gc
	m.mu.Unlock()
}

// LeaseEnded and ReleaseFailed make the monitor the scheduler's
// lease.Observer.
var _ lease.Observer = (*monitor)(nil)

func (m *monitor) LeaseEnded(reason string) { m.metrics.LeaseEnded(reason) }

func (m *monitor) ReleaseFailed(_ uint64, err error) {
	m.metrics.DeleteFailed()
	m.fail("release", err)
}

// fill copies what the monitor knows into a status answer.
func (m *monitor) fill(st *api.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st.Started = m.started.UTC()
	st.Uptime = time.Since(m.started).Seconds()
	st.Errors = make(map[string]api.LastError, len(m.errors))
	for k, e := range m.errors {
		st.Errors[k] = e
	}
	st.Watcher.Rescans = m.rescans
	if m.lastRescan != nil {
		r := *m.lastRescan
		st.Watcher.LastRescan = &r
	}
	if m.lastGC != nil {
		gc := *m.lastGC
		st.LastGC = &gc
	}
}
