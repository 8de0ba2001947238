package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// TestMetricsFollowLeases scrapes the daemon over its socket and over
// TCP on 127.0.0.1 while a lease is acquired and released: the gauges
// read at scrape time and the counters fed where things happen must both
// move, and both endpoints must agree.
func TestMetricsFollowLeases(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		ctx := context.Background()
		root, vol := newRoot(t, base)
		addMachine(t, driverOf(t, root), vol, "lin", "gcc")
		d := startDaemon(t, root, server.Config{MetricsListen: "127.0.0.1:0", Version: "1.2.3-test"})
		st := d.status(ctx)
		if host, _, err := net.SplitHostPort(st.MetricsListen); err != nil || host != "127.0.0.1" {
			t.Fatalf("status metrics_listen = %q, want 127.0.0.1:PORT", st.MetricsListen)
		}
		if st.Version != "1.2.3-test" || st.PID != os.Getpid() || st.Uptime <= 0 {
			t.Errorf("status version %q pid %d uptime %v, want 1.2.3-test, %d, > 0", st.Version, st.PID, st.Uptime, os.Getpid())
		}
		endpoints := map[string]func() sample{
			"socket": func() sample { return scrape(t, socketHTTP(d.sock), "http://bmsched/metrics") },
			"tcp":    func() sample { return scrape(t, http.DefaultClient, "http://"+st.MetricsListen+"/metrics") },
		}
		commits := map[string]float64{}
		for name, get := range endpoints {
			s := get()
			s.want(t, leasesIn("active"), 0)
			s.want(t, "bmsched_leases_acquired_total", 0)
			s.want(t, ended("released"), 0)
			s.want(t, `bmsched_machines{state="active"}`, 1)
			s.want(t, "bmsched_lease_requests_waiting", 0)
			if s.get(t, "bmsched_db_size_bytes") <= 0 || s.get(t, "bmsched_rescan_duration_seconds_count") < 1 {
				t.Errorf("%s: db size %v, rescans %v: want both above 0", name, s["bmsched_db_size_bytes"], s["bmsched_rescan_duration_seconds_count"])
			}
			// The Go and process collectors.
			s.get(t, "go_goroutines")
			s.get(t, "process_start_time_seconds")
			commits[name] = s.get(t, "bmsched_db_commits_total")
		}

		l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		for name, get := range endpoints {
			s := get()
			s.want(t, leasesIn("active"), 1)
			s.want(t, "bmsched_leases_acquired_total", 1)
			s.want(t, "bmsched_acquire_duration_seconds_count", 1)
			if c := s.get(t, "bmsched_db_commits_total"); c <= commits[name] {
				t.Errorf("%s: db commits %v after an acquire, was %v: want more", name, c, commits[name])
			}
		}

		if _, err := d.release(ctx, l.ID, ""); err != nil {
			t.Fatal(err)
		}
		d.waitDeleted(ctx)
		// The end is counted a moment after its commit shows.
		eventually(t, 10*time.Second, "the end counted", func() bool {
			return endpoints["socket"]().get(t, ended("released")) == 1
		})
		for _, get := range endpoints {
			s := get()
			s.want(t, leasesIn("active"), 0)
			s.want(t, leasesIn("releasing"), 0)
			s.want(t, ended("released"), 1)
			s.want(t, ended("expired"), 0)
			s.want(t, "bmsched_release_duration_seconds_count", 1)
			s.want(t, "bmsched_leases_acquired_total", 1)
		}

		// The TCP port serves the metrics and nothing of the API: it has
		// no peer credentials to decide who may do what.
		resp, err := http.Get("http://" + st.MetricsListen + "/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /v1/status over the metrics port: %s, want 404", resp.Status)
		}
	})
}

// TestMetricsQueueAndStale watches the queue gauge rise and fall with a
// waiting acquire, and the stale image gauge and the watcher's event
// counter follow an upgrade done by hand.
func TestMetricsQueueAndStale(t *testing.T) {
	ctx := context.Background()
	root, vol := newRoot(t, t.TempDir())
	drv := driverOf(t, root)
	dir := addMachine(t, drv, vol, "lin", "gcc")
	d := startDaemon(t, root, server.Config{MaxLeases: 1})
	metricsNow := func() sample { return scrape(t, socketHTTP(d.sock), "http://bmsched/metrics") }

	first, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc", Wait: "30s"})
		if err == nil {
			_, err = d.release(ctx, l.ID, "")
		}
		got <- err
	}()
	eventually(t, 10*time.Second, "an acquire waiting in bmsched_lease_requests_waiting", func() bool {
		return metricsNow()["bmsched_lease_requests_waiting"] == 1
	})
	if _, err := d.release(ctx, first.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the waiting acquire: %v", err)
	}
	// A lease's end is counted once its snapshot is gone, a moment after
	// its commit shows.
	d.waitDeleted(ctx)
	eventually(t, 10*time.Second, "both ends counted", func() bool { return metricsNow().get(t, ended("released")) == 2 })
	s := metricsNow()
	s.want(t, "bmsched_lease_requests_waiting", 0)
	s.want(t, "bmsched_leases_acquired_total", 2)
	s.want(t, ended("released"), 2)
	s.want(t, "bmsched_images_stale", 0)
	events := s.get(t, "bmsched_watch_events_total")

	// The manual's upgrade: a new revision, then the link switched with
	// rename. The image was bootstrapped from revision 1: now stale.
	rev2 := filepath.Join(dir, "lin-2")
	if err := drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), rev2, true); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lin-2", filepath.Join(dir, "new-lin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "new-lin"), filepath.Join(dir, "lin")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "bmsched_images_stale to count the image of revision 1", func() bool {
		return metricsNow()["bmsched_images_stale"] == 1
	})
	if e := metricsNow().get(t, "bmsched_watch_events_total"); e <= events {
		t.Errorf("bmsched_watch_events_total %v after an upgrade by hand, was %v: want more", e, events)
	}
}
