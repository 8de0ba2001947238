package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

// handedOut is every path that a lease was given in the whole soak.
type handedOut struct {
	mu    sync.Mutex
	paths map[string]string // path: the label of the acquire it was given to
}

func (s *soak) noteHanded(st *roundStats, path, label string) {
	s.handed.mu.Lock()
	defer s.handed.mu.Unlock()
	if prev, ok := s.handed.paths[path]; ok {
		st.dups.Add(1)
		st.violate("%s handed out twice: to %s and to %s", path, prev, label)
		return
	}
	s.handed.paths[path] = label
}

// client is one build worker: acquire, write a marker into the snapshot,
// build a little, check the marker, release; until stop.
func (s *soak) client(ctx context.Context, st *roundStats, w int, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		label := fmt.Sprintf("soak-r%d-w%d-%d", st.n, w, i)
		if path, gen := s.acquire(ctx, st, s.machines[(w+i)%len(s.machines)], label); path != "" {
			s.use(ctx, st, path, label, gen)
			s.release(ctx, st, path)
		}
	}
}

// acquire returns the path of a new lease, and the kill generation when
// it was asked for; or "" when there is none to use: an acquire whose
// answer the kill cut off is looked up by its label once the daemon is
// back, and released.
func (s *soak) acquire(ctx context.Context, st *roundStats, machine, label string) (string, int64) {
	for ctx.Err() == nil {
		start, gen := time.Now(), st.killGen.Load()
		code, out, errOut := s.cli(ctx, "--json", "acquire", machine, "gcc", "--label", label)
		switch code {
		case 0:
			var l api.Lease
			if err := json.Unmarshal([]byte(out), &l); err != nil || l.Path == "" {
				st.violate("acquire %s: output %q: %v", label, out, err)
				return "", 0
			}
			st.noteAcquire(start)
			s.noteHanded(st, l.Path, label)
			return l.Path, gen
		case api.ExitUnreachable:
			// Nothing was asked: ask the next daemon.
			s.waitForDaemon(ctx)
		case api.ExitFailed:
			st.lostAnswers.Add(1)
			s.resolve(ctx, st, label)
			return "", 0
		default:
			st.violate("acquire %s: exit %d: %s", label, code, errOut)
			return "", 0
		}
	}
	return "", 0
}

// use writes the marker and checks it after a short build; a lease held
// across the kill (asked for before it, checked after) is checked once the
// next daemon has recovered.
func (s *soak) use(ctx context.Context, st *roundStats, path, label string, gen int64) {
	marker := filepath.Join(path, "soak-marker")
	if err := os.WriteFile(marker, []byte(label), 0o644); err != nil {
		st.lostMarkers.Add(1)
		st.violate("write the marker of %s: %v", label, err)
		return
	}
	// Long enough that many leases are held when the kill comes.
	time.Sleep(50*time.Millisecond + time.Duration(rand.Int64N(int64(400*time.Millisecond))))
	if st.killGen.Load() != gen {
		st.held.Add(1)
		s.waitForDaemon(ctx)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != label {
		st.lostMarkers.Add(1)
		st.violate("the marker of %s, held across the kill, is lost: %q, %v", label, b, err)
	}
}

// release ends the lease by the path acquire printed, as a worker's
// script does; it is idempotent, so it is repeated until a daemon says so.
func (s *soak) release(ctx context.Context, st *roundStats, path string) {
	for try := 0; ctx.Err() == nil; try++ {
		code, _, errOut := s.cli(ctx, "release", path)
		switch {
		case code == 0:
			return
		case (code == api.ExitFailed || code == api.ExitUnreachable) && try < 20:
			s.waitForDaemon(ctx)
		default:
			st.violate("release %s: exit %d: %s", path, code, errOut)
			return
		}
	}
}

// resolve finds the lease of an acquire whose answer was lost, by its
// label, and releases it.
func (s *soak) resolve(ctx context.Context, st *roundStats, label string) {
	ls, ok := s.leases(ctx, st)
	if !ok {
		return
	}
	for _, l := range ls {
		if l.Owner != nil && l.Owner.Label == label {
			s.noteHanded(st, l.Path, label)
			s.release(ctx, st, l.Path)
		}
	}
}

// leases lists the leases, waiting for a daemon as needed.
func (s *soak) leases(ctx context.Context, st *roundStats) ([]api.Lease, bool) {
	for try := 0; ctx.Err() == nil; try++ {
		s.waitForDaemon(ctx)
		code, out, errOut := s.cli(ctx, "--json", "leases")
		if code == 0 {
			var ls api.Leases
			if err := json.Unmarshal([]byte(out), &ls); err != nil {
				st.violate("leases: %v", err)
				return nil, false
			}
			return ls.Leases, true
		}
		if try == 20 {
			st.violate("leases: exit %d: %s", code, errOut)
			return nil, false
		}
	}
	return nil, false
}

// waitForDaemon waits until a daemon answers, with a short pause so that
// a client never spins.
func (s *soak) waitForDaemon(ctx context.Context) {
	select {
	case <-s.up.wait():
	case <-ctx.Done():
	}
	time.Sleep(time.Duration(5+rand.IntN(10)) * time.Millisecond)
}
