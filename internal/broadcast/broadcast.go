// Package broadcast holds a signal that wakes every waiter at once: a
// channel closed at each Notify and replaced by a new one, so that a
// waiter takes the channel before it looks at the state it waits on and
// cannot miss a change made in between, and nobody polls.
package broadcast

import "sync"

// Signal is a close-and-replace channel. Its zero value is ready to use;
// it must not be copied after first use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns a channel closed at the next Notify.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify wakes everyone who called Wait before it.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		// Made again only when someone waits: most notifies have
		// nobody to wake.
		close(s.ch)
		s.ch = nil
	}
}
