package main

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["metrics"] = cmdMetrics
}

// metrics: scrape the daemon's GET /metrics over $SOCK onto stdout, as
// Prometheus would (`curl --unix-socket` without needing curl).
func cmdMetrics(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: metrics")
	}
	sock := ts.Getenv("SOCK")
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Get("http://bmsched/metrics")
	ts.Check(err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET /metrics: %s", resp.Status)
	}
	_, err = io.Copy(ts.Stdout(), resp.Body)
	ts.Check(err)
}
