package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bmsched/bmsched/internal/api"
)

// sample is one scrape: each series, written as the text format writes
// it (`name{label="value"}`), and its value.
type sample map[string]float64

// get returns a series' value; the test fails when it is missing.
func (s sample) get(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := s[series]
	if !ok {
		t.Fatalf("scrape has no series %s", series)
	}
	return v
}

// want fails the test unless series has the value want.
func (s sample) want(t *testing.T, series string, want float64) {
	t.Helper()
	if got := s.get(t, series); got != want {
		t.Errorf("%s = %v, want %v", series, got, want)
	}
}

// scrape GETs /metrics with hc and parses the text format.
func scrape(t *testing.T, hc *http.Client, url string) sample {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %s: %s", url, resp.Status, b)
	}
	out := sample{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("scrape %s: bad line %q", url, line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return out
}

// socketHTTP is an HTTP client that dials the daemon's Unix socket.
func socketHTTP(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

// status asks the daemon for its status.
func (d *daemon) status(ctx context.Context) api.Status {
	d.t.Helper()
	var st api.Status
	if err := d.client.Do(ctx, "GET", "/v1/status", nil, &st); err != nil {
		d.t.Fatal(err)
	}
	return st
}

// ended is the series of leases ended for reason.
func ended(reason string) string { return fmt.Sprintf("bmsched_leases_ended_total{reason=%q}", reason) }

func leasesIn(state string) string { return fmt.Sprintf("bmsched_leases{state=%q}", state) }
