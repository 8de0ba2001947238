package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
	"github.com/bmsched/bmsched/internal/ops"
)

// opStream answers a long command as newline-delimited JSON: progress
// lines as they happen, then one line with the outcome and the command's
// result (api.OpResult). The status line is sent before the outcome is
// known, so errors travel in the body.
type opStream struct {
	// Progress may come from a command's helper goroutines (a receive's
	// byte counter) while the command itself reports.
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	done    bool // the outcome is sent: nothing may follow it
	machine string
	actions []api.OpAction
}

func newOpStream(w http.ResponseWriter) *opStream {
	// A receive reads its stream from the request body while progress
	// goes out: HTTP/1.1 allows it only when asked for.
	_ = http.NewResponseController(w).EnableFullDuplex()
	// And the connection is not reused: net/http would read the next
	// request while a refused receive's body is still unread, and panic.
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	// The client bounds its wait for the first byte (--timeout), not for
	// the command: the answer has begun.
	_ = http.NewResponseController(w).Flush()
	return &opStream{w: w, enc: json.NewEncoder(w)}
}

func (s *opStream) progress(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if a, ok := ops.ActionOf(format, args); ok {
		s.actions = append(s.actions, a)
	}
	_ = s.enc.Encode(api.OpLine{Progress: fmt.Sprintf(format, args...)})
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

// setMachine names the machine the command works on, VOLUME/NAME, for
// its result.
func (s *opStream) setMachine(volume, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.machine = volume + "/" + name
}

func (s *opStream) finish(res *api.OpResult, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	if err != nil {
		e := api.WireError(err)
		_ = s.enc.Encode(api.OpLine{Error: e.Message, Exit: e.Exit})
		return
	}
	_ = s.enc.Encode(api.OpLine{Done: res.Message, Result: res})
}

// operator refuses operator commands to clients that are neither root nor
// in the operators group.
func (s *Server) operator(r *http.Request) error {
	cred, ok := peer(r)
	if !ok {
		return errkind.Errorf(errkind.Refused, "permission denied: cannot tell who you are")
	}
	if trusted(cred.Uid) {
		return nil
	}
	if s.cfg.Operators != "" && inGroup(int(cred.Pid), uint32(s.cfg.OperatorsGID)) {
		return nil
	}
	if s.cfg.Operators != "" {
		return errkind.Errorf(errkind.Refused, "permission denied: operator commands need root or membership of group %s (serve --operators)", s.cfg.Operators)
	}
	return errkind.Errorf(errkind.Refused, "permission denied: operator commands need root, the daemon's own user, or a group named with serve --operators")
}

// inGroup reads the client's groups from /proc: SO_PEERCRED carries only
// its primary group.
func inGroup(pid int, gid uint32) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	want := strconv.FormatUint(uint64(gid), 10)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "Groups" && k != "Gid") {
			continue
		}
		for _, g := range strings.Fields(v) {
			if g == want {
				return true
			}
		}
	}
	return false
}

// newMachine names a machine that may not exist yet: VOLUME/NAME, or NAME
// in the volume "default".
func newMachine(spec string) (volume, name string, err error) {
	volume, name, ok := strings.Cut(spec, "/")
	if !ok {
		volume, name = "default", spec
	}
	if err := fsscan.ValidVolumeName(volume); err != nil {
		return "", "", errkind.Errorf(errkind.Usage, "%w", err)
	}
	if err := fsscan.ValidNewMachineName(name); err != nil {
		return "", "", errkind.Errorf(errkind.Usage, "%w", err)
	}
	return volume, name, nil
}

// revisionParams reads the rev and owner parameters of add and upgrade.
func revisionParams(q url.Values) (uint64, *ops.Owner, error) {
	rev, err := strconv.ParseUint(q.Get("rev"), 10, 64)
	if err != nil || rev == 0 {
		return 0, nil, errkind.Errorf(errkind.Usage, "--rev %q: a revision is a positive number", q.Get("rev"))
	}
	v := q.Get("owner")
	if v == "" {
		return rev, nil, nil
	}
	u, g, ok := strings.Cut(v, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return 0, nil, errkind.Errorf(errkind.Usage, "--owner %q: want UID:GID", v)
	}
	return rev, &ops.Owner{UID: uid, GID: gid}, nil
}

func (s *Server) source(r *http.Request) ops.Source {
	q := r.URL.Query()
	if q.Get("receive") != "" {
		return ops.Source{Stream: r.Body}
	}
	return ops.Source{From: q.Get("from")}
}

func (s *Server) opAdd(w http.ResponseWriter, r *http.Request) {
	s.runOp(w, r, "add", func(st *opStream) (string, error) {
		q := r.URL.Query()
		vol, name, err := newMachine(q.Get("machine"))
		if err != nil {
			return "", err
		}
		st.setMachine(vol, name)
		rev, owner, err := revisionParams(q)
		if err != nil {
			return "", err
		}
		src := s.source(r)
		if err := s.checkRevisionRequest(r, src, owner, "add"); err != nil {
			return "", err
		}
		if err := s.ops.Add(r.Context(), vol, name, rev, src, owner, st.progress); err != nil {
			return "", err
		}
		return fmt.Sprintf("machine %s/%s added at revision %d", vol, name, rev), nil
	})
}

func (s *Server) opUpgrade(w http.ResponseWriter, r *http.Request) {
	s.runOp(w, r, "upgrade", func(st *opStream) (string, error) {
		q := r.URL.Query()
		m, err := s.resolve(q.Get("machine"))
		if err != nil {
			return "", err
		}
		st.setMachine(m.Volume, m.Name)
		rev, owner, err := revisionParams(q)
		if err != nil {
			return "", err
		}
		src := s.source(r)
		if err := s.checkRevisionRequest(r, src, owner, "upgrade"); err != nil {
			return "", err
		}
		if err := s.ops.Upgrade(r.Context(), m.Volume, m.Name, rev, src, owner, q.Get("prune") != "", st.progress); err != nil {
			return "", err
		}
		return fmt.Sprintf("machine %s/%s is at revision %d", m.Volume, m.Name, rev), nil
	})
}

func (s *Server) opRollback(w http.ResponseWriter, r *http.Request) {
	s.runOp(w, r, "rollback", func(st *opStream) (string, error) {
		m, err := s.resolve(r.URL.Query().Get("machine"))
		if err != nil {
			return "", err
		}
		st.setMachine(m.Volume, m.Name)
		if err := s.ops.Rollback(m.Volume, m.Name, st.progress); err != nil {
			return "", err
		}
		return fmt.Sprintf("machine %s/%s rolled back", m.Volume, m.Name), nil
	})
}

func (s *Server) opDelete(w http.ResponseWriter, r *http.Request) {
	s.runOp(w, r, "delete", func(st *opStream) (string, error) {
		q := r.URL.Query()
		m, err := s.resolve(q.Get("machine"))
		if err != nil {
			return "", err
		}
		st.setMachine(m.Volume, m.Name)
		durs, err := parseDurations(map[string]string{"timeout": q.Get("timeout")})
		if err != nil {
			return "", err
		}
		if err := s.ops.Delete(r.Context(), m.Volume, m.Name, durs["timeout"], st.progress); err != nil {
			return "", err
		}
		return fmt.Sprintf("machine %s/%s deleted", m.Volume, m.Name), nil
	})
}

func (s *Server) opGC(w http.ResponseWriter, r *http.Request) {
	s.runOp(w, r, "gc", func(st *opStream) (string, error) {
		q := r.URL.Query()
		dry := q.Get("dry_run") != ""
		lines, err := s.gc(q.Get("boot") != "", dry, st.progress)
		if err != nil {
			return "", err
		}
		st.mu.Lock()
		st.actions = ops.GCActions(lines) // its lines are plain progress
		st.mu.Unlock()
		acts, kept := ops.CountActions(lines)
		if dry {
			return fmt.Sprintf("gc --dry-run: %d actions would be taken, %d entries kept; nothing was changed", acts, kept), nil
		}
		return fmt.Sprintf("gc: %d actions, %d entries kept", acts, kept), nil
	})
}

func (s *Server) runOp(w http.ResponseWriter, r *http.Request, op string, fn func(*opStream) (string, error)) {
	if err := s.operator(r); err != nil {
		writeErr(w, err)
		return
	}
	if r.URL.Query().Get("receive") != "" {
		// An operator's send stream: as slow as its source.
		noReadDeadline(w)
	}
	since := s.lastEventSeq()
	st := newOpStream(w)
	done, err := fn(st)
	var res *api.OpResult
	if err == nil {
		st.mu.Lock()
		res = s.opResult(op, st.machine, done, st.actions, since)
		st.mu.Unlock()
	}
	st.finish(res, err)
}

func (s *Server) bootstrapStart(w http.ResponseWriter, r *http.Request) {
	if err := s.operator(r); err != nil {
		writeErr(w, err)
		return
	}
	q := r.URL.Query()
	m, err := s.resolve(q.Get("machine"))
	if err != nil {
		writeErr(w, err)
		return
	}
	// The client runs the command; the kernel names it (SO_PEERCRED).
	cred, _ := peer(r)
	b, err := s.ops.BootstrapStart(m.Volume, m.Name, q.Get("toolchain"), int(cred.Pid))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, b)
}

func (s *Server) bootstrapFinish(w http.ResponseWriter, r *http.Request) {
	if err := s.operator(r); err != nil {
		writeErr(w, err)
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, errkind.Errorf(errkind.Usage, "bootstrap %q: not an op id", r.PathValue("id")))
		return
	}
	q := r.URL.Query()
	status, _ := strconv.Atoi(q.Get("status"))
	since := s.lastEventSeq()
	var actions []api.OpAction
	collect := func(format string, args ...any) {
		if a, ok := ops.ActionOf(format, args); ok {
			actions = append(actions, a)
		}
	}
	// The journal names the machine; finishing ends the record.
	var machine string
	if op, found, err := s.db.Op(id); err == nil && found {
		machine = op.Volume + "/" + op.Machine
	}
	msg, err := s.ops.BootstrapFinish(id, q.Get("ok") != "", status, collect)
	if err != nil {
		writeErr(w, err)
		return
	}
	// An OpResult is an api.Message with fields added.
	writeJSON(w, s.opResult("bootstrap", machine, msg, actions, since))
}

// privileged reports whether a client is root, the daemon's own user or
// an operator: they are never turned away for other users' load.
func (s *Server) privileged(cred unix.Ucred) bool {
	if cred.Uid == 0 || int(cred.Uid) == os.Geteuid() {
		return true
	}
	return s.cfg.Operators != "" && inGroup(int(cred.Pid), uint32(s.cfg.OperatorsGID))
}
