// Package metrics is the daemon's Prometheus exposition. Only the daemon
// (internal/server) imports it: client_golang's package initialisation
// costs every process that links it a few milliseconds at start, which a
// build worker's `bmsched acquire` must not pay.
//
// Gauges of what the daemon holds (leases, machines, the queue, the
// database) are read from it at scrape time, so they cannot drift from
// the truth; counters and histograms are fed where the events happen.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// EndReasons are the reasons a lease ends (lease.EndReason), exported at
// zero from the start so that rate() and alerts see every series before
// its first event.
var EndReasons = []string{"released", "expired", "owner-exited", "hold-ended", "vanished",
	"reaped", "abandoned", "undone", "volume-replaced"}

// latencyBuckets span a warm snapshot (a millisecond) to a plain-directory
// copy or an acquire that waited in the queue (minutes).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// Metrics is the registry of one daemon.
type Metrics struct {
	reg      *prometheus.Registry
	acquire  prometheus.Histogram
	release  prometheus.Histogram
	rescan   prometheus.Histogram
	acquired prometheus.Counter
	ended    *prometheus.CounterVec
	failed   prometheus.Counter
}

// New registers the daemon's metrics, the Go runtime's and the process's;
// read is called at every scrape for the current state.
func New(read func() (State, error)) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		acquire: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bmsched_acquire_duration_seconds", Buckets: latencyBuckets,
			Help: "Time from an acquire's arrival to its lease, queue wait included, of the acquires that got one.",
		}),
		release: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bmsched_release_duration_seconds", Buckets: latencyBuckets,
			Help: "Time to answer a release that succeeded, snapshot delete included.",
		}),
		rescan: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bmsched_rescan_duration_seconds",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
			Help:    "Time of each full rescan of the machines root (start, lost events, reconcile, gc).",
		}),
		acquired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bmsched_leases_acquired_total", Help: "Leases handed out.",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bmsched_leases_ended_total", Help: "Leases ended, by reason.",
		}, []string{"reason"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bmsched_lease_delete_failures_total",
			Help: "Snapshot deletes that failed, each leaving its lease releasing until a retry succeeds.",
		}),
	}
	for _, r := range EndReasons {
		m.ended.WithLabelValues(r)
	}
	m.reg.MustRegister(m.acquire, m.release, m.rescan, m.acquired, m.ended, m.failed,
		newStateCollector(read),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format. A state that
// cannot be read fails only its own metrics; the rest are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Acquired counts a lease handed out after took.
func (m *Metrics) Acquired(took time.Duration) {
	m.acquired.Inc()
	m.acquire.Observe(took.Seconds())
}

// Released records a release answered after took.
func (m *Metrics) Released(took time.Duration) { m.release.Observe(took.Seconds()) }

// LeaseEnded counts a lease ended for reason.
func (m *Metrics) LeaseEnded(reason string) { m.ended.WithLabelValues(reason).Inc() }

// DeleteFailed counts a snapshot delete that failed.
func (m *Metrics) DeleteFailed() { m.failed.Inc() }

// Rescanned records a full rescan that took took.
func (m *Metrics) Rescanned(took time.Duration) { m.rescan.Observe(took.Seconds()) }
