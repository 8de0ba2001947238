package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/lease"
)

func (s *Server) acquire(w http.ResponseWriter, r *http.Request) {
	var req api.AcquireRequest
	if err := decodeBody(r, &req); err != nil {
		writeErr(w, err)
		return
	}
	if err := api.ValidLabel(req.Label); err != nil {
		writeErr(w, errkind.Errorf(errkind.Usage, "%w", err))
		return
	}
	m, err := s.resolve(req.Machine)
	if err != nil {
		writeErr(w, err)
		return
	}
	durs, err := parseDurations(map[string]string{"wait": req.Wait, "ttl": req.TTL})
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Priority > 0 {
		if err := s.operator(r); err != nil {
			writeErr(w, errkind.Errorf(errkind.Refused, "--priority %d: only root and operators may jump the queue (%w); leave it at 0 or below", req.Priority, err))
			return
		}
	}
	cred, _ := peer(r)
	processing(w)
	start := time.Now()
	l, err := s.leases.Acquire(r.Context(), lease.Request{
		Volume: m.Volume, Machine: m.Name, Toolchain: req.Toolchain,
		Wait: durs["wait"], TTL: durs["ttl"], OwnerPID: req.OwnerPID, Label: req.Label,
		Priority: req.Priority, AllowStale: req.AllowStale, UID: cred.Uid,
	})
	if err != nil {
		s.noteFailure("acquire", err)
		writeErr(w, err)
		return
	}
	s.metrics.Acquired(time.Since(start))
	if r.Context().Err() != nil {
		// The client went away while its snapshot was made: nobody will
		// ever learn the path, so the lease ends now.
		if err := s.leases.Abandon(l.ID, vanished(cred, req.OwnerPID)); err != nil {
			s.log.Error("release lease of a vanished client", "lease", l.ID, "err", err)
		}
		return
	}
	s.warnUnwritable(l, cred.Uid, int(cred.Pid))
	writeJSON(w, leaseJSON(l))
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	id, err := leaseID(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req api.ReleaseRequest
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			writeErr(w, err)
			return
		}
	}
	durs, err := parseDurations(map[string]string{"hold": req.Hold})
	if err != nil {
		writeErr(w, err)
		return
	}
	if durs["hold"] > s.cfg.MaxHold {
		writeErr(w, errkind.Errorf(errkind.Usage, "--hold %s: longer than this daemon keeps a snapshot for debugging (serve --max-hold %s); hold it for %s or less", durs["hold"], s.cfg.MaxHold, s.cfg.MaxHold))
		return
	}
	processing(w)
	start := time.Now()
	msg, err := s.leases.Release(id, s.caller(r), durs["hold"])
	if err != nil {
		// A failed delete is the scheduler's to report (monitor's
		// ReleaseFailed), once per failure; counted here too, it would
		// count twice.
		writeErr(w, err)
		return
	}
	s.metrics.Released(time.Since(start))
	writeJSON(w, api.Message{Message: msg})
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	id, err := leaseID(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req api.RenewRequest
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			writeErr(w, err)
			return
		}
	}
	durs, err := parseDurations(map[string]string{"ttl": req.TTL})
	if err != nil {
		writeErr(w, err)
		return
	}
	l, err := s.leases.Renew(id, s.caller(r), durs["ttl"])
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, leaseJSON(l))
}

// listLeases answers `bmsched leases`: one machine's leases, or every
// lease streamed a page at a time, then the requests waiting for capacity
// when asked.
func (s *Server) listLeases(w http.ResponseWriter, r *http.Request) {
	var only *db.Machine
	var out *arrayStream
	if spec := r.URL.Query().Get("m"); spec != "" {
		m, err := s.resolve(spec)
		if err != nil {
			writeErr(w, err)
			return
		}
		only = &m
		ls, err := s.db.MachineLeases(m.Volume, m.Name)
		if err != nil {
			writeErr(w, err)
			return
		}
		out = startArray(w, "leases")
		for _, l := range ls {
			out.add(leaseJSON(l))
		}
	} else if out = s.streamAllLeases(w); out == nil {
		return
	}
	var waiting []api.Waiting
	if r.URL.Query().Get("waiting") != "" {
		for _, wt := range s.leases.Waiting() {
			if only != nil && (wt.Volume != only.Volume || wt.Machine != only.Name) {
				continue
			}
			waiting = append(waiting, wt)
		}
	}
	out.field("waiting", waiting, len(waiting) == 0)
	_ = out.end()
}

// streamAllLeases starts the answer and writes every lease's entry, a
// page a read transaction, so that a slow client holds none open. The
// first page is read before the answer starts, so that a failure there is
// answered as one (nil is returned then).
func (s *Server) streamAllLeases(w http.ResponseWriter) *arrayStream {
	seen := map[uint64]bool{}
	page, last, err := s.leaseEntries(0, seen)
	if err != nil {
		writeErr(w, err)
		return nil
	}
	out := startArray(w, "leases")
	for len(page) > 0 {
		for _, e := range page {
			out.addRaw(e)
		}
		if len(page) < streamPage {
			break
		}
		if page, last, err = s.leaseEntries(last, seen); err != nil {
			abortStream("leases", err, s.log)
		}
	}
	s.renders.keepOnly(seen)
	return out
}

// leaseEntries are the answer's entries of the next page of leases
// after id after.
func (s *Server) leaseEntries(after uint64, seen map[uint64]bool) (entries [][]byte, last uint64, err error) {
	last, err = s.db.LeaseRecordPage(after, streamPage, func(id uint64, raw []byte) error {
		e, err := s.renders.render(id, raw)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		seen[id] = true
		return nil
	})
	return entries, last, err
}

// caller is who sent r, for the scheduler's permission checks.
func (s *Server) caller(r *http.Request) lease.Caller {
	cred, _ := peer(r)
	return lease.Caller{UID: cred.Uid, Operator: s.operator(r) == nil}
}

func leaseJSON(l db.Lease) api.Lease {
	out := api.Lease{
		ID: l.ID, Volume: l.Volume, Machine: l.Machine, Toolchain: l.Toolchain,
		Snapshot: l.Snapshot, Path: l.Path, Created: l.Created, Expires: l.Expires,
		State: l.State, HoldUntil: l.HoldUntil, ImageUUID: l.ImageUUID, Adopted: l.Adopted, LastError: l.LastError,
	}
	if l.State != db.LeaseOrphaned {
		// An adopted lease's owner is unknown: null, not uid 0.
		out.Owner = &api.Owner{UID: l.Owner.UID, PID: l.Owner.PID, Label: l.Owner.Label}
	}
	return out
}

func leaseID(r *http.Request) (uint64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, errkind.Errorf(errkind.Usage, "lease %q: a lease is a positive number, as `bmsched leases` shows", s)
	}
	return id, nil
}

// parseDurations parses Go durations ("90s", "2h"); "" is zero.
func parseDurations(in map[string]string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for k, v := range in {
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, errkind.Errorf(errkind.Usage, "%s %q: not a duration (write it like 90s, 10m or 2h)", k, v)
		}
		out[k] = d
	}
	return out, nil
}

// vanished says why an acquire's client is gone: its owner process exited
// (a worker interrupted with its process group), or the client itself
// went away.
func vanished(cred unix.Ucred, ownerPID int) string {
	if ownerPID != 0 && unix.Kill(ownerPID, 0) == unix.ESRCH {
		return fmt.Sprintf("owner process %d exited before its acquire was answered", ownerPID)
	}
	return fmt.Sprintf("the client (uid %d, pid %d) went away before it was told the path", cred.Uid, cred.Pid)
}
