package keyedlock

import (
	"sync"
	"testing"
	"time"
)

// TestExclusivePerKey: holders of one key never overlap, whatever their
// number, and every entry is dropped once all are done.
func TestExclusivePerKey(t *testing.T) {
	var s Set[string]
	var wg sync.WaitGroup
	inside := map[string]int{}
	var mu sync.Mutex
	for i := range 64 {
		key := []string{"a", "b", "c"}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := s.Lock(key)
			defer unlock()
			mu.Lock()
			inside[key]++
			n := inside[key]
			mu.Unlock()
			if n != 1 {
				t.Errorf("%d holders of %q at once, want 1", n, key)
			}
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside[key]--
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := s.Len(); n != 0 {
		t.Errorf("%d keys left after every holder unlocked, want 0", n)
	}
}

// TestOtherKeysDoNotWait: a held key blocks its own waiters only.
func TestOtherKeysDoNotWait(t *testing.T) {
	var s Set[string]
	unlockA := s.Lock("a")
	select {
	case <-lockAndUnlock(&s, "b"):
	case <-time.After(10 * time.Second):
		t.Fatal("Lock(b) waited while only a was held")
	}

	got := lockAndUnlock(&s, "a")
	select {
	case <-got:
		t.Fatal("Lock(a) returned while a was held")
	case <-time.After(20 * time.Millisecond):
	}
	if n := s.Len(); n != 1 {
		t.Errorf("%d keys while a is held and waited for, want 1", n)
	}
	unlockA()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Lock(a) still waits after a was unlocked")
	}
	if n := s.Len(); n != 0 {
		t.Errorf("%d keys after everything was unlocked, want 0", n)
	}
}

// lockAndUnlock locks and unlocks key in a goroutine; the channel is
// closed once it is done.
func lockAndUnlock(s *Set[string], key string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		s.Lock(key)()
		close(done)
	}()
	return done
}
