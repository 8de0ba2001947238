package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/server"
)

// With one slot on the host, waiting requests are served by priority,
// then arrival, whatever machine they want; one whose client goes away
// leaves the queue; `leases --waiting` lists them in that order.
func TestLeaseQueueOrder(t *testing.T) {
	forEachDriver(t, func(t *testing.T, base string) {
		root, vol := newRoot(t, base)
		for _, m := range []string{"qa", "qb"} {
			addMachine(t, driverOf(t, root), vol, m, "gcc")
		}
		d := startDaemon(t, root, server.Config{MaxLeases: 1})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		first, err := d.acquire(ctx, api.AcquireRequest{Machine: "qa", Toolchain: "gcc"})
		if err != nil {
			t.Fatal(err)
		}
		type grant struct {
			label string
			lease api.Lease
			err   error
		}
		grants := make(chan grant, 8)
		prios := []int{0, 5, 0, 5, 1, 0, 2}
		cancels := map[string]context.CancelFunc{}
		for i, p := range prios {
			label := fmt.Sprintf("w%d/p%d", i, p)
			wctx, wcancel := context.WithCancel(ctx)
			cancels[label] = wcancel
			defer wcancel()
			go func() {
				l, err := d.acquire(wctx, api.AcquireRequest{Machine: []string{"qa", "qb"}[i%2], Toolchain: "gcc",
					Wait: "60s", Priority: p, Label: label})
				grants <- grant{label, l, err}
			}()
			// Arrival order is the order of these requests: wait until
			// each is queued before sending the next.
			eventually(t, 10*time.Second, "request "+label+" queued", func() bool {
				return len(d.leases(ctx, true).Waiting) == i+1
			})
		}
		want := []string{"w1/p5", "w3/p5", "w6/p2", "w4/p1", "w0/p0", "w2/p0", "w5/p0"}
		ws := d.leases(ctx, true).Waiting
		var got []string
		for i, w := range ws {
			got = append(got, w.Label)
			if w.Position != i+1 || w.Since.IsZero() || !strings.HasPrefix(w.Reason, "host at capacity (1 of 1 leases") ||
				!strings.HasSuffix(w.Reason, fmt.Sprintf("; %d ahead in the queue", i)) {
				t.Errorf("waiting #%d: position %d, since %v, reason %q", i+1, w.Position, w.Since, w.Reason)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("queue order %v, want %v", got, want)
		}

		// w2's client goes away: it leaves the queue and gets nothing.
		cancels["w2/p0"]()
		if g := <-grants; g.label != "w2/p0" || g.err == nil {
			t.Fatalf("cancelled waiter: %+v", g)
		}
		eventually(t, 10*time.Second, "the cancelled waiter leaves the queue", func() bool {
			return len(d.leases(ctx, true).Waiting) == len(prios)-1
		})
		want = append(want[:5], want[6:]...)

		// A request that will not wait is refused while the queue is full,
		// whatever its priority, and does not disturb the queue.
		if _, err := d.acquire(ctx, api.AcquireRequest{Machine: "qb", Toolchain: "gcc", Priority: 9}); exitOf(err) != api.ExitNoCapacity {
			t.Fatalf("acquire with a full host and no --wait: %v, want exit 4", err)
		}

		// Each release lets exactly the next one in.
		prev := first
		for _, label := range want {
			if _, err := d.release(ctx, prev.ID, ""); err != nil {
				t.Fatal(err)
			}
			g := <-grants
			if g.err != nil {
				t.Fatalf("%s: %v", g.label, g.err)
			}
			if g.label != label {
				t.Fatalf("served %s, want %s", g.label, label)
			}
			if g.lease.Owner.Label != label || filepath.Dir(filepath.Dir(g.lease.Path)) != vol {
				t.Fatalf("%s got %+v", label, g.lease)
			}
			select {
			case g := <-grants:
				t.Fatalf("%s served while %s holds the only slot", g.label, label)
			default:
			}
			prev = g.lease
		}
		if _, err := d.release(ctx, prev.ID, ""); err != nil {
			t.Fatal(err)
		}
		d.waitDeleted(ctx)
		if ls := d.leases(ctx, true); len(ls.Leases) != 0 || len(ls.Waiting) != 0 {
			t.Fatalf("at the end: %+v", ls)
		}
	})
}
