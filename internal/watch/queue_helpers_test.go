package watch

// pending reports whether t has an event not yet covered by a finished
// scan: how the tests wait for a burst, or the look-agains, to end.
func (q *queue) pending(t target) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.slots[t] != nil
}
