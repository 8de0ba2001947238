package server

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/lease"
)

// leaseRef resolves a snapshot path or name, as acquire printed it, to
// its lease: a worker releases "$dir".
func (s *Server) leaseRef(w http.ResponseWriter, r *http.Request) {
	ref, err := s.resolveLeaseRef(r.URL.Query().Get("ref"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, ref)
}

// resolveLeaseRef finds the live lease holding ref; failing that, the
// ended lease whose snapshot ref names (an id this database issued, in
// the name it gave); anything else was never a lease's, and is not found.
func (s *Server) resolveLeaseRef(ref string) (api.LeaseRef, error) {
	cands := s.refCandidates(ref)
	// Only the leases of the machines ref could belong to are read.
	for _, c := range cands {
		ls, err := s.db.MachineLeases(c.volume, c.machine)
		if err != nil {
			return api.LeaseRef{}, err
		}
		for _, l := range ls {
			// A releasing lease's name is gone: it is ended to its client.
			if l.State != db.LeaseReleasing && (l.Path == ref || l.Snapshot == ref) {
				return api.LeaseRef{ID: l.ID}, nil
			}
		}
	}
	for _, c := range cands {
		e := fsscan.ClassifyName(c.machine, c.name)
		id, err := strconv.ParseUint(e.ID, 10, 64)
		if e.Kind != fsscan.KindSnapshot || err != nil || lease.SnapshotName(c.machine, e.Toolchain, id) != c.name {
			continue
		}
		issued, err := s.db.LeaseIssued(id)
		if err != nil {
			return api.LeaseRef{}, err
		}
		if issued && s.loggedAs(id, c.name) {
			return api.LeaseRef{ID: id, Ended: true,
				Message: fmt.Sprintf("no lease holds %s: it was lease %d's, which had already ended (already released)", ref, id)}, nil
		}
	}
	return api.LeaseRef{}, errkind.Errorf(errkind.NotFound, "no lease holds %s, and none ever did: give the path or id that acquire printed (`bmsched leases` lists the leases)", ref)
}

type refCandidate struct{ volume, machine, name string }

// refCandidates are the machines a snapshot path or name could belong to:
// the one whose directory holds the path, or each machine whose name the
// bare name begins with, followed by a dash, found in the index of names.
func (s *Server) refCandidates(ref string) []refCandidate {
	if strings.Contains(ref, "/") {
		rel, err := filepath.Rel(s.cfg.Machines, filepath.Clean(ref))
		parts := strings.Split(rel, "/")
		if err != nil || len(parts) != 3 || parts[0] == ".." {
			return nil
		}
		return []refCandidate{{parts[0], parts[1], parts[2]}}
	}
	var out []refCandidate
	for i := range len(ref) {
		if ref[i] != '-' {
			continue
		}
		ms, err := s.db.MachinesNamed(ref[:i])
		if err != nil {
			return nil
		}
		for _, m := range ms {
			out = append(out, refCandidate{m.Volume, m.Name, ref})
		}
	}
	return out
}

// loggedAs reports whether the event log, where it still remembers lease
// id, shows it under snapshot name: lease ids are shared by every machine
// and toolchain, so "lin-gc-001" must not pass for lease 1's
// "lin-gcc-001". A lease the bounded log has forgotten is given the
// benefit of the doubt.
func (s *Server) loggedAs(id uint64, name string) bool {
	es, err := s.db.Events(0, 0)
	if err != nil {
		return true
	}
	seen := false
	for _, e := range es {
		if e.Lease != id {
			continue
		}
		seen = true
		if slices.Contains(strings.FieldsFunc(e.Message, notNameChar), name) {
			return true
		}
	}
	return !seen
}

func notNameChar(r rune) bool {
	return !(r == '-' || r == '_' || r == '.' || r == '+' || unicode.IsLetter(r) || unicode.IsDigit(r))
}
