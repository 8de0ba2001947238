package broadcast

import (
	"sync"
	"testing"
	"time"
)

// TestNotifyWakesEveryWaiter: every channel taken before a Notify is
// closed by it; one taken after waits for the next.
func TestNotifyWakesEveryWaiter(t *testing.T) {
	var s Signal
	var before []<-chan struct{}
	for range 3 {
		before = append(before, s.Wait())
	}
	s.Notify()
	for i, ch := range before {
		select {
		case <-ch:
		default:
			t.Errorf("waiter %d not woken by Notify", i)
		}
	}
	after := s.Wait()
	select {
	case <-after:
		t.Fatal("a channel taken after Notify is already closed")
	default:
	}
	s.Notify()
	select {
	case <-after:
	default:
		t.Fatal("the second Notify did not wake the channel taken after the first")
	}
}

// TestNotifyWithoutWaiters: Notify with nobody waiting neither panics
// (closing twice) nor wakes a later waiter.
func TestNotifyWithoutWaiters(t *testing.T) {
	var s Signal
	s.Notify()
	s.Notify()
	select {
	case <-s.Wait():
		t.Fatal("Wait after Notifies with no waiter returned a closed channel")
	default:
	}
}

// TestConcurrent: waiters and notifiers at once (run with -race); each
// waiter that takes its channel before the last Notify is woken.
func TestConcurrent(t *testing.T) {
	var s Signal
	var wg sync.WaitGroup
	chans := make(chan (<-chan struct{}), 100)
	for range 100 {
		wg.Add(2)
		go func() { defer wg.Done(); chans <- s.Wait() }()
		go func() { defer wg.Done(); s.Notify() }()
	}
	wg.Wait()
	close(chans)
	s.Notify()
	for ch := range chans {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("a waiter was not woken by the last Notify")
		}
	}
}
