// Package keyedlock holds mutexes by key (one machine, one directory):
// each is made on first use and dropped when nobody holds or waits for
// it, so that a daemon that sees many names over its life keeps a lock
// only for those in use.
package keyedlock

import "sync"

// Set is a set of mutexes by key. Its zero value is ready to use; it must
// not be copied after first use.
type Set[K comparable] struct {
	mu    sync.Mutex
	locks map[K]*entry
}

type entry struct {
	sync.Mutex
	refs int // holders and waiters
}

// Lock waits for key's mutex and returns the function that unlocks it,
// to be called once.
func (s *Set[K]) Lock(key K) (unlock func()) {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[K]*entry{}
	}
	l := s.locks[key]
	if l == nil {
		l = &entry{}
		s.locks[key] = l
	}
	l.refs++
	s.mu.Unlock()

	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(s.locks, key)
		}
		s.mu.Unlock()
	}
}

// Len is the number of keys held or waited for.
func (s *Set[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.locks)
}
