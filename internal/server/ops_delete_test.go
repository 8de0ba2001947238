package server_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

// TestDeleteWakesOnLastRelease runs a delete while three leases run: it
// must wait for all three and finish promptly after the last release,
// woken by the release itself (the wait path has no timer to poll on).
func TestDeleteWakesOnLastRelease(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		d, _ := daemonWith(t, base, "lin", "gcc")
		ctx := context.Background()
		var ids []uint64
		for i := 0; i < 3; i++ {
			l, err := d.acquire(ctx, api.AcquireRequest{Machine: "lin", Toolchain: "gcc"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, l.ID)
		}

		var mu sync.Mutex
		var progress []string
		waiting := make(chan struct{})
		done := make(chan error, 1)
		var finished time.Time
		go func() {
			_, err := d.client.Op(ctx, "/v1/ops/delete?"+url.Values{"machine": {"lin"}}.Encode(), nil, func(line string) {
				mu.Lock()
				progress = append(progress, line)
				mu.Unlock()
				if strings.HasPrefix(line, "waiting for") && strings.Count(line, "lease ") == 3 {
					close(waiting)
				}
			})
			finished = time.Now()
			done <- err
		}()
		select {
		case <-waiting:
		case err := <-done:
			t.Fatalf("delete returned before the leases ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("delete did not report waiting for the three leases")
		}
		for _, id := range ids[:2] {
			if _, err := d.release(ctx, id, ""); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("delete finished with a lease still running: %v", err)
		default:
		}
		last := time.Now()
		if _, err := d.release(ctx, ids[2], ""); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("delete did not finish after the last release")
		}
		lag := finished.Sub(last)
		t.Logf("delete finished %v after the last release was sent", lag)
		if lag > time.Second {
			t.Errorf("delete took %v after the last release; it should be woken at once", lag)
		}
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(strings.Join(progress, "\n"), "lease 3") {
			t.Errorf("progress never named what it waited for: %q", progress)
		}
	})
}
