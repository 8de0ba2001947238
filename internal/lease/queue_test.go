package lease

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/errkind"
)

// The queue's rules, without a daemon: admit takes a capacity slot or
// waits for one, and a freed slot goes to waiters by priority, then
// arrival, never to a later request while an earlier one waits.

func req(machine string, prio int) Request {
	return Request{Volume: "v", Machine: machine, Toolchain: "t", Priority: prio, Wait: time.Minute}
}

// waitQueued blocks until n requests wait.
func waitQueued(t *testing.T, s *Scheduler, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Waiting()) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", len(s.Waiting()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func free(s *Scheduler, machine string) {
	s.mu.Lock()
	s.freeSlotLocked(machineKey("v", machine))
	s.mu.Unlock()
}

func TestQueueServesPriorityThenArrival(t *testing.T) {
	s := New(Config{MaxLeases: 1}, nil, nil)
	if _, err := s.admit(context.Background(), req("a", 0)); err != nil {
		t.Fatal(err)
	}
	full := Request{Volume: "v", Machine: "a", Toolchain: "t"}
	if _, err := s.admit(context.Background(), full); !errkind.Is(err, errkind.NoCapacity) {
		t.Fatalf("admit on a full host without --wait: %v, want exit 4", err)
	}

	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, prio int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.admit(context.Background(), req(name, prio)); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			free(s, name) // done at once: the next one may go
		}()
	}
	// Arrival order low1, high, low2: served high, low1, low2.
	enqueue("low1", 0)
	waitQueued(t, s, 1)
	enqueue("high", 5)
	waitQueued(t, s, 2)
	enqueue("low2", 0)
	waitQueued(t, s, 3)
	if w := s.Waiting(); w[0].Machine != "high" || w[0].Position != 1 || w[2].Machine != "low2" {
		t.Fatalf("queue order: %+v", w)
	}
	free(s, "a")
	wg.Wait()
	if got := []string{"high", "low1", "low2"}; len(order) != 3 || order[0] != got[0] || order[1] != got[1] || order[2] != got[2] {
		t.Fatalf("served %v, want %v", order, got)
	}
}

// A request blocked by its machine's limit keeps its place on the host:
// a later request for another machine does not take the last host slot.
func TestQueueHeadNotOvertaken(t *testing.T) {
	s := New(Config{MaxLeases: 2, MaxPerMachine: 1}, nil, nil)
	if _, err := s.admit(context.Background(), req("a", 0)); err != nil {
		t.Fatal(err)
	}
	headGot := make(chan error, 1)
	go func() {
		_, err := s.admit(context.Background(), req("a", 0))
		headGot <- err
	}()
	waitQueued(t, s, 1)

	later := Request{Volume: "v", Machine: "b", Toolchain: "t"} // no wait
	if _, err := s.admit(context.Background(), later); err == nil {
		t.Fatal("a later request for another machine took the slot the head of the queue is waiting for")
	}
	free(s, "a")
	select {
	case err := <-headGot:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the head of the queue was not served when its machine freed up")
	}
}

// A waiter whose client goes away leaves the queue, and lets those
// behind it through.
func TestQueueCancelledWaiterLeaves(t *testing.T) {
	s := New(Config{MaxLeases: 1}, nil, nil)
	if _, err := s.admit(context.Background(), req("a", 0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := s.admit(ctx, req("a", 9))
		gone <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-gone; !errkind.Is(err, errkind.NoCapacity) {
		t.Fatalf("cancelled waiter: %v, want exit 4", err)
	}
	if n := len(s.Waiting()); n != 0 {
		t.Fatalf("%d still waiting after the client went away", n)
	}
}
