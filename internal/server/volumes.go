package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/volume"
)

// volumeChanges are the inventory's words of volumes whose filesystem
// came, went or was replaced, acted on in order by one goroutine: the
// inventory tells them from inside its scans, where nothing may wait on
// a scan.
type volumeChanges struct {
	mu      sync.Mutex
	pending []inventory.VolumeChange
	wake    chan struct{}
}

func (q *volumeChanges) push(c inventory.VolumeChange) {
	q.mu.Lock()
	q.pending = append(q.pending, c)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *volumeChanges) take() []inventory.VolumeChange {
	q.mu.Lock()
	defer q.mu.Unlock()
	cs := q.pending
	q.pending = nil
	return cs
}

// watchVolumes acts on volume changes until ctx is done, and probes the
// volumes again at every mount or unmount on the host; done counts the
// goroutine that acts, so that Run waits for it before closing what it
// uses.
func (s *Server) watchVolumes(ctx context.Context, done *sync.WaitGroup) {
	err := volume.WatchMounts(ctx, func() {
		if err := s.inv.CheckVolumes(); err != nil {
			s.mon.fail("volume", err)
			s.log.Warn("check volumes after a mount change", "err", err)
		}
	})
	if err != nil {
		// The periodic reconcile still notices, only later.
		s.log.Warn("cannot watch the mount table; volumes mounted or unmounted are noticed at the next reconcile", "err", err)
	}
	done.Add(1)
	go func() {
		defer done.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.volumes.wake:
				for _, c := range s.volumes.take() {
					s.actOnVolume(c)
				}
			}
		}
	}()
}

// actOnVolume brings the leases and the watches in line with a volume
// whose filesystem changed.
func (s *Server) actOnVolume(c inventory.VolumeChange) {
	if !c.First {
		what := c.Change.String()
		if c.Back {
			what = "available again"
		}
		s.log.Warn("volume "+what, "volume", c.Volume)
	}
	switch {
	case c.First:
		// Nothing known of it to resume or end.
	case c.Change == volume.Unavailable:
		// Leases and records stay as they are; the watches on what went
		// away see nothing more.
	case c.Back:
		// What recovery put off for it is done now, on what is there;
		// releases that waited for it delete their snapshots.
		if err := s.inv.RescanAll("volume"); err != nil {
			s.log.Warn("rescan after a volume came back incomplete", "volume", c.Volume, "err", err)
		}
		s.leases.RecoverVolume(c.Volume)
		s.leases.RetryVolume(c.Volume)
	default:
		// Another filesystem: the leases of the one before end, and
		// nothing of theirs is deleted (it is not here).
		if n := s.leases.EndReplaced(c.Volume); n > 0 {
			_ = s.db.AppendEvents(db.Event{Source: "volume", Kind: "leases-ended", Volume: c.Volume,
				Message: fmt.Sprintf("volume %s replaced: ended the %d lease(s) of the filesystem before; nothing deleted", c.Volume, n)})
		}
	}
	if s.watch != nil {
		s.watch.RewatchVolume(c.Volume)
	}
	if s.pool != nil {
		// Whatever the change, the pool's snapshots there are not known
		// to be what it made: dropped, and removed once it is back.
		s.pool.VolumeChanged(c.Volume)
	}
}
