package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// roundStats is what one round of the soak did and found.
type roundStats struct {
	n        int
	removeDB bool

	acquires    atomic.Int64 // answered acquires
	held        atomic.Int64 // leases held by their client across the kill
	lostAnswers atomic.Int64 // acquires whose answer the kill cut off
	lostMarkers atomic.Int64 // markers of held leases gone
	dups        atomic.Int64 // paths handed out a second time
	adopted     int          // orphaned leases the restarted daemon adopted
	left        int          // snapshots and temporaries left after every release
	kills       int
	crashes     int          // deaths at armed crash points
	killGen     atomic.Int64 // bumped at each kill
	restartAt   atomic.Int64 // unix ns of the restart; 0 before it
	firstAfter  atomic.Int64 // unix ns of the first acquire asked after the restart

	listOK, checkOK bool

	mu         sync.Mutex
	violations []string
}

func (st *roundStats) violate(format string, a ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.violations) < 20 {
		st.violations = append(st.violations, fmt.Sprintf(format, a...))
	}
}

// noteAcquire records an acquire asked at start and answered now: the
// first one asked after the restart ends the recovery time.
func (st *roundStats) noteAcquire(start time.Time) {
	st.acquires.Add(1)
	if r := st.restartAt.Load(); r != 0 && start.UnixNano() >= r {
		st.firstAfter.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func (st *roundStats) recovery() string {
	if st.firstAfter.Load() == 0 {
		return "-"
	}
	return fmt.Sprintf("%d ms", time.Duration(st.firstAfter.Load()-st.restartAt.Load()).Milliseconds())
}

const roundHeader = "round  restart      acquires  kills  crashes  recovery  held-across-kill  lost-answers  adopted  dup-paths  left  list=fs  markers-lost  db-check"

func (st *roundStats) row() string {
	how := "db kept"
	if st.removeDB {
		how = "db removed"
	}
	ok := map[bool]string{true: "ok", false: "FAIL"}
	return fmt.Sprintf("%5d  %-10s  %9d  %5d  %7d  %8s  %16d  %12d  %7d  %9d  %4d  %7s  %12d  %8s",
		st.n, how, st.acquires.Load(), st.kills, st.crashes, st.recovery(), st.held.Load(), st.lostAnswers.Load(),
		st.adopted, st.dups.Load(), st.left, ok[st.listOK], st.lostMarkers.Load(), ok[st.checkOK])
}

// round runs the clients against the daemon, has it kill itself at each
// crash point in turn, then SIGKILLs it at a random moment, removes its database if asked, starts it again, lets the
// clients go on for 1.5s, and waits for each to release what it holds.
func (s *soak) round(n int, removeDB bool) *roundStats {
	st := &roundStats{n: n, removeDB: removeDB}
	if s.daemon == nil {
		s.startDaemon()
		if err := s.waitUp(60 * time.Second); err != nil {
			s.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range *soakClients {
		wg.Add(1)
		go func() { defer wg.Done(); s.client(ctx, st, w, stop) }()
	}
	// Whatever happens below, no client outlives the round.
	defer wg.Wait()
	defer cancel()

	// The daemon kills itself at each step of an acquire and of an end in
	// turn, under the clients' load; then it is killed at a random moment.
	time.Sleep(300 * time.Millisecond)
	s.killDaemon()
	st.kills++
	for _, p := range crashPoints {
		s.crashAt(st, p)
	}
	s.startDaemon()
	if err := s.waitUp(60 * time.Second); err != nil {
		st.violate("restart after the crash points: %v", err)
		return st
	}
	time.Sleep(500*time.Millisecond + time.Duration(s.rng.Int64N(int64(2*time.Second))))
	// Bumped first: a client that sees the old generation checked its
	// marker before the kill.
	st.killGen.Add(1)
	s.killDaemon()
	st.kills++
	if removeDB {
		if err := os.Remove(s.db); err != nil {
			s.t.Fatalf("remove the database: %v", err)
		}
	}
	st.restartAt.Store(time.Now().UnixNano())
	s.startDaemon()
	if err := s.waitUp(60 * time.Second); err != nil {
		st.violate("restart: %v", err)
		return st
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if ctx.Err() != nil {
		st.violate("the clients did not finish within 3 minutes")
	}
	return st
}
