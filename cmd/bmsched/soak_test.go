package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
)

var (
	soakRounds  = flag.Int("soak.rounds", 0, "rounds of the SIGKILL soak (TestSoak; 0 skips it; make soak runs 5)")
	soakClients = flag.Int("soak.clients", 32, "concurrent clients in each round of the soak")
)

// TestSoak holds the invariants of design §4 under SIGKILL: in each
// round, 32 clients (the bmsched binary, as build workers run it) acquire,
// write a marker into their snapshot and release, while the daemon kills
// itself at each crash point of an acquire and of an end in turn
// (crashPoints), then is killed at a random moment, and is started again
// after each; the last round also removes the database before the last
// restart. After each round: no path was
// handed out twice in the whole soak, no snapshot and no .bmsched-*
// temporary is left, `list` agrees with the filesystem, no client lost
// the marker of a lease it held, and `db check` is clean.
//
//	make soak SOAK_ROUNDS=3
//	go test -v -count=1 -run '^TestSoak$' ./cmd/bmsched/ -soak.rounds=3
func TestSoak(t *testing.T) {
	if *soakRounds <= 0 {
		t.Skip("the soak runs with -soak.rounds=N (make soak)")
	}
	// Asked for by name: a host that cannot run it fails, never skips.
	if err := loopbtrfs.Available(); err != nil {
		t.Fatalf("the soak needs a loop-mounted btrfs: %v", err)
	}
	s := newSoak(t)
	fmt.Printf("\nSIGKILL soak: %d rounds of %d clients on a loop-mounted btrfs\n", *soakRounds, *soakClients)
	fmt.Println(roundHeader)
	var failed []string
	for r := 1; r <= *soakRounds; r++ {
		removeDB := r == *soakRounds && *soakRounds > 1
		st := s.round(r, removeDB)
		s.checkRound(st)
		fmt.Println(st.row())
		if len(st.violations) > 0 {
			failed = append(failed, fmt.Sprintf("round %d:\n\t%s", r, strings.Join(st.violations, "\n\t")))
		}
	}
	s.stopDaemon()
	for _, f := range failed {
		t.Error(f)
	}
	if t.Failed() {
		t.Logf("the end of the daemon's log:\n%s", s.logTail())
	}
}

// soak is the fixture: machines on a loop-mounted btrfs, the built
// binary, the daemon's files, and what was handed out in every round.
type soak struct {
	t        *testing.T
	bin      string
	root     string
	machines []string
	db, sock string
	logPath  string
	daemon   *daemon
	up       upSignal
	handed   handedOut
	rng      *rand.Rand
}

func newSoak(t *testing.T) *soak {
	mnt := loopbtrfstest.TB(t)
	s := &soak{t: t, bin: buildBmsched(t), root: filepath.Join(mnt, "machines"),
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))}
	dir := t.TempDir() // the database stays off the machine volume (design §4)
	s.db = filepath.Join(dir, "bmsched.db")
	s.logPath = filepath.Join(dir, "daemon.log")
	s.sock = filepath.Join(publicDir(t), "s")
	s.handed.paths = map[string]string{}
	s.up.down()
	drv := btrfs.NewBtrfs()
	vol := filepath.Join(s.root, "default")
	for i := range 4 {
		m := fmt.Sprintf("soak%d", i)
		dir := filepath.Join(vol, m)
		rev := filepath.Join(dir, m+"-1")
		must(t, os.MkdirAll(dir, 0o755))
		must(t, drv.Create(rev))
		must(t, os.WriteFile(filepath.Join(rev, "image"), []byte(m), 0o644))
		must(t, drv.SetReadOnly(rev, true))
		must(t, os.Symlink(m+"-1", filepath.Join(dir, m)))
		must(t, drv.Snapshot(context.Background(), rev, filepath.Join(dir, m+"-gcc"), true))
		s.machines = append(s.machines, m)
	}
	// Registered after the mount: runs before its unmount.
	t.Cleanup(s.stopDaemon)
	return s
}
