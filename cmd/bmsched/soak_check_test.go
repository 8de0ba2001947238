package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/rootlock"
)

// countAdopted reads how many snapshots the daemon restarted on a removed
// database adopted, from its event: every lease held across the kill
// must be among them, or its snapshot was taken for a leftover.
func (s *soak) countAdopted(ctx context.Context, st *roundStats) {
	code, out, errOut := s.cli(ctx, "--json", "events", "-n", "10000")
	if code != 0 {
		st.violate("events: exit %d: %s", code, errOut)
		return
	}
	var evs api.Events
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		st.violate("events: %v", err)
		return
	}
	for _, e := range evs.Events {
		if e.Kind == "leases-adopted" {
			fmt.Sscanf(e.Message, "adopted %d snapshot(s)", &st.adopted)
		}
	}
	if held := int(st.held.Load()); st.adopted < held {
		st.violate("the daemon on a removed database adopted %d snapshots, but %d leases were held across the kill", st.adopted, held)
	}
}

// checkRound checks the invariants once every client has released what
// it held, then stops the daemon and checks the database offline.
func (s *soak) checkRound(st *roundStats) {
	if s.daemon == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if st.removeDB {
		s.countAdopted(ctx, st)
	}
	ls, ok := s.leases(ctx, st)
	for _, l := range ls {
		// A snapshot of the lost database is adopted: its owner is
		// unknown, and root may end it (design §4).
		if st.removeDB && l.State == "orphaned" {
			s.release(ctx, st, l.Path)
		}
	}
	if ls, ok = s.settled(ctx, st); ok && len(ls) > 0 {
		st.violate("%d leases left after every release, the first %s (%s)", len(ls), ls[0].Path, ls[0].State)
	}
	left := s.leftOnDisk()
	st.left = len(left)
	if len(left) > 0 {
		st.violate("left on disk after every release: %s", strings.Join(left, ", "))
	}
	st.listOK = s.listAgrees(ctx, st)
	s.stopDaemon()
	code, out, errOut := s.cli(ctx, "db", "check", "--db", s.db)
	st.checkOK = code == 0 && strings.Contains(out, ": ok") && !strings.Contains(out, "warning")
	if !st.checkOK {
		st.violate("db check: exit %d: %s%s", code, out, errOut)
	}
}

// settled lists the leases once none is releasing: a release answers
// before its snapshot is deleted, and the deleter must catch up within
// 30s of the last release.
func (s *soak) settled(ctx context.Context, st *roundStats) ([]api.Lease, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ls, ok := s.leases(ctx, st)
		releasing := 0
		for _, l := range ls {
			if l.State == "releasing" {
				releasing++
			}
		}
		if !ok || releasing == 0 {
			return ls, ok
		}
		if time.Now().After(deadline) {
			st.violate("%d leases still releasing 30s after the last release", releasing)
			return ls, ok
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftOnDisk lists the snapshots and bmsched's temporaries in the machine
// directories, and its temporaries at the top of the root and the volume
// (the root's lock and lease id mark aside: they stay by design).
func (s *soak) leftOnDisk() []string {
	var left []string
	vol := filepath.Join(s.root, "default")
	for _, dir := range []string{s.root, vol} {
		for _, name := range readNames(s.t, dir) {
			if strings.HasPrefix(name, ".bmsched-") && name != rootlock.Name && name != rootlock.IDsName {
				left = append(left, filepath.Join(dir, name))
			}
		}
	}
	for _, m := range s.machines {
		for _, name := range readNames(s.t, filepath.Join(vol, m)) {
			if strings.HasPrefix(name, ".bmsched-") || strings.HasPrefix(name, m+"-gcc-") {
				left = append(left, filepath.Join(m, name))
			}
		}
	}
	return left
}

func readNames(t interface{ Fatal(...any) }, dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// listAgrees checks that `list --json` names, for every machine, exactly
// the revisions, images and snapshots in its directory. The watcher
// catches up within a fraction of a second, so it is asked a few times.
func (s *soak) listAgrees(ctx context.Context, st *roundStats) bool {
	var diff string
	for try := 0; try < 20; try++ {
		if try > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		code, out, errOut := s.cli(ctx, "--json", "list")
		var l api.List
		if code != 0 || json.Unmarshal([]byte(out), &l) != nil {
			diff = fmt.Sprintf("list: exit %d: %s", code, errOut)
			continue
		}
		if diff = s.listDiff(l); diff == "" {
			return true
		}
	}
	st.violate("list disagrees with the filesystem: %s", diff)
	return false
}

func (s *soak) listDiff(l api.List) string {
	listed := map[string][]string{}
	for _, m := range l.Machines {
		for _, r := range m.Revisions {
			listed[m.Name] = append(listed[m.Name], fmt.Sprintf("%s-%d", m.Name, r.Rev))
		}
		for _, t := range m.Toolchains {
			listed[m.Name] = append(listed[m.Name], m.Name+"-"+t.Name)
		}
		for _, sn := range m.Snapshots {
			listed[m.Name] = append(listed[m.Name], sn.Name)
		}
	}
	for _, m := range s.machines {
		var onDisk []string
		for _, name := range readNames(s.t, filepath.Join(s.root, "default", m)) {
			if name != m && !strings.HasPrefix(name, ".bmsched-") {
				onDisk = append(onDisk, name)
			}
		}
		slices.Sort(onDisk)
		slices.Sort(listed[m])
		if !slices.Equal(onDisk, listed[m]) {
			return fmt.Sprintf("%s: listed %v, on disk %v", m, listed[m], onDisk)
		}
	}
	return ""
}
