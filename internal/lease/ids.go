package lease

import (
	"fmt"
	"sync"
)

// idBlockSize is how many lease ids one commit reserves when the root has
// no id mark; with one, a block runs up to the mark (rootlock.IDs moves
// it 1024 at a time). An acquire takes its id from memory, and only one
// in a block pays for the commit that moves the database's reserved
// mark, and for the write of the root's.
const idBlockSize = 1024

// idBlock is the reserved ids not yet handed out: next up to last.
type idBlock struct {
	mu   sync.Mutex
	next uint64
	last uint64
}

// nextID hands out the next lease id, reserving a block first when the
// one in memory is used up.
func (s *Scheduler) nextID() (uint64, error) {
	b := &s.ids
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == 0 || b.next > b.last {
		if err := s.reserveIDs(b); err != nil {
			return 0, err
		}
	}
	id := b.next
	b.next++
	return id, nil
}

// reserveIDs reserves the next block: the root's mark first, so that it
// covers the block before any name with an id of it exists, then the
// database's counter, up to the same mark.
func (s *Scheduler) reserveIDs(b *idBlock) error {
	_, reserved, err := s.db.LeaseIDs()
	if err != nil {
		return fmt.Errorf("reserve lease ids in database %s: %w", s.db.Path(), err)
	}
	first := max(b.next, reserved+1)
	last := first + idBlockSize - 1
	if s.cfg.IDs != nil {
		if err := s.cfg.IDs.Cover(first); err != nil {
			return err
		}
		last = max(s.cfg.IDs.Reserved(), first)
	}
	first, last, err = s.db.ReserveLeaseIDs(first, last)
	if err != nil {
		return fmt.Errorf("reserve lease ids in database %s: %w", s.db.Path(), err)
	}
	if err := s.coverID(last); err != nil {
		return err
	}
	b.next, b.last = first, last
	return nil
}

// resumeIDs makes ids go on after above, within the block reserved up to
// reserved: recovery's answer to where the last daemon stopped. The ids
// between are reserved and were handed out to no client (every id a
// client may have seen has a record, or is at or below the issued mark,
// or is on disk), so none is lost to a restart.
func (s *Scheduler) resumeIDs(above, reserved uint64) {
	b := &s.ids
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next = max(b.next, above+1)
	b.last = max(b.last, reserved)
}

// coverID makes the root's id mark cover id before any name with it
// exists.
func (s *Scheduler) coverID(id uint64) error {
	if s.cfg.IDs == nil {
		return nil
	}
	return s.cfg.IDs.Cover(id)
}
