package metrics

import "github.com/prometheus/client_golang/prometheus"

// State is what the daemon holds at a scrape. The maps should hold every
// known state, zero or not, so that a series does not vanish when its
// count drops to zero.
type State struct {
	Leases         map[string]int // by lease state
	Waiting        int            // acquires queued for capacity
	Machines       map[string]int // by machine state
	ImagesStale    int            // toolchain images built from a revision that is no longer current
	WatchEvents    uint64         // inotify events read since start
	WatchOverflows uint64         // inotify queue overflows since start
	DBCommits      uint64         // database commits since start
	DBSize         int64          // database file size in bytes
	// The warm pool (serve --warm): snapshots ready now, and since
	// start the acquires that took one (hits) or made their own
	// (misses), the snapshots it made and those it removed unused.
	WarmReady                                      int
	WarmHits, WarmMisses, WarmRefills, WarmDrained uint64
}

var (
	descLeases   = prometheus.NewDesc("bmsched_leases", "Leases not yet ended, by state.", []string{"state"}, nil)
	descWaiting  = prometheus.NewDesc("bmsched_lease_requests_waiting", "Acquires waiting in the queue for a capacity slot.", nil, nil)
	descMachines = prometheus.NewDesc("bmsched_machines", "Machines, by state.", []string{"state"}, nil)
	descStale    = prometheus.NewDesc("bmsched_images_stale", "Toolchain images bootstrapped from a revision that is no longer current.", nil, nil)
	descEvents   = prometheus.NewDesc("bmsched_watch_events_total", "Filesystem events the watcher read.", nil, nil)
	descOverflow = prometheus.NewDesc("bmsched_watch_overflows_total", "Times the kernel's inotify queue overflowed, each costing a full rescan.", nil, nil)
	descCommits  = prometheus.NewDesc("bmsched_db_commits_total", "Database write transactions committed (each pays two fsyncs).", nil, nil)
	descSize     = prometheus.NewDesc("bmsched_db_size_bytes", "Size of the database file.", nil, nil)

	descWarmReady   = prometheus.NewDesc("bmsched_warm_ready", "Snapshots the warm pool has ready for acquires.", nil, nil)
	descWarmHits    = prometheus.NewDesc("bmsched_warm_hits_total", "Acquires that took a ready snapshot from the warm pool.", nil, nil)
	descWarmMisses  = prometheus.NewDesc("bmsched_warm_misses_total", "Acquires of an image the warm pool keeps that found none ready and made their own.", nil, nil)
	descWarmRefills = prometheus.NewDesc("bmsched_warm_refills_total", "Snapshots the warm pool made in the background.", nil, nil)
	descWarmDrains  = prometheus.NewDesc("bmsched_warm_drains_total", "Warm snapshots removed unused: image replaced, machine retired or deleted, image idle, leftovers at start.", nil, nil)
)

// stateCollector reads the daemon's state at each scrape.
type stateCollector struct{ read func() (State, error) }

func newStateCollector(read func() (State, error)) prometheus.Collector {
	return stateCollector{read}
}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeases, descWaiting, descMachines, descStale, descEvents, descOverflow, descCommits, descSize,
		descWarmReady, descWarmHits, descWarmMisses, descWarmRefills, descWarmDrains} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.read()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descLeases, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	for state, n := range st.Leases {
		gauge(descLeases, float64(n), state)
	}
	for state, n := range st.Machines {
		gauge(descMachines, float64(n), state)
	}
	gauge(descWaiting, float64(st.Waiting))
	gauge(descStale, float64(st.ImagesStale))
	gauge(descSize, float64(st.DBSize))
	counter(descEvents, st.WatchEvents)
	counter(descOverflow, st.WatchOverflows)
	counter(descCommits, st.DBCommits)
	gauge(descWarmReady, float64(st.WarmReady))
	counter(descWarmHits, st.WarmHits)
	counter(descWarmMisses, st.WarmMisses)
	counter(descWarmRefills, st.WarmRefills)
	counter(descWarmDrains, st.WarmDrained)
}
