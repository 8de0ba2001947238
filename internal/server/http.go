package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/version"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Every body is bounded but the btrfs send streams of add and upgrade
	// --receive, which only operators may send (runOp checks first).
	mux.HandleFunc("GET /v1/health", limitBody(s.health))
	mux.HandleFunc("GET /v1/status", limitBody(s.status))
	mux.Handle("GET /metrics", limitBody(s.metrics.Handler().ServeHTTP))
	mux.HandleFunc("GET /v1/machines", limitBody(s.listMachines))
	mux.HandleFunc("GET /v1/machine", limitBody(s.showMachine))
	mux.HandleFunc("GET /v1/events", limitBody(s.events))
	mux.HandleFunc("GET /v1/events/follow", limitBody(s.followEvents))
	mux.HandleFunc("POST /v1/acquire", limitBody(s.acquire))
	mux.HandleFunc("GET /v1/leases", limitBody(s.listLeases))
	mux.HandleFunc("GET /v1/lease-ref", limitBody(s.leaseRef))
	mux.HandleFunc("POST /v1/leases/{id}/release", limitBody(s.release))
	mux.HandleFunc("POST /v1/leases/{id}/renew", limitBody(s.renew))
	mux.HandleFunc("POST /v1/ops/add", s.opAdd)
	mux.HandleFunc("POST /v1/ops/upgrade", s.opUpgrade)
	mux.HandleFunc("POST /v1/ops/rollback", limitBody(s.opRollback))
	mux.HandleFunc("POST /v1/ops/delete", limitBody(s.opDelete))
	mux.HandleFunc("POST /v1/ops/gc", limitBody(s.opGC))
	mux.HandleFunc("POST /v1/ops/bootstrap", limitBody(s.bootstrapStart))
	mux.HandleFunc("POST /v1/ops/bootstrap/{id}/finish", limitBody(s.bootstrapFinish))
	return mux
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	v := version.Get()
	writeJSON(w, api.Health{OK: true, BootID: s.cfg.BootID, Machines: s.cfg.Machines,
		Version: v.Version, Commit: v.Commit, Go: v.Go, PID: os.Getpid()})
}

type peerKey struct{}

// withPeer records the connecting process's credentials, read at accept
// (peerListener), in the connection's context.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	pc, ok := c.(*peerConn)
	if !ok || pc.cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, *pc.cred)
}

// peer returns the credentials of the request's client.
func peer(r *http.Request) (unix.Ucred, bool) {
	c, ok := r.Context().Value(peerKey{}).(unix.Ucred)
	return c, ok
}

// processing tells the client that its request is taken and under way
// (102 Processing): its bound on the first byte of the answer (--timeout)
// must not cut work that is merely slow, a snapshot copied on plain
// directories say.
func processing(w http.ResponseWriter) { w.WriteHeader(http.StatusProcessing) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeErr answers with the error's kind turned into an exit code and an
// HTTP status: the one place, with opStream.finish, where the daemon's
// errors meet the wire.
func writeErr(w http.ResponseWriter, err error) {
	e := api.WireError(err)
	w.Header().Set("Content-Type", "application/json")
	status := e.Status
	if status == 0 {
		status = api.HTTPStatus(e.Exit)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Read to the end, so that the body's read deadline is lifted
		// (bodyDeadline) before the handler starts its work.
		var rest []byte
		rest, err = io.ReadAll(io.MultiReader(dec.Buffered(), r.Body))
		if err == nil && len(bytes.TrimSpace(rest)) > 0 {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge()
		}
		return errkind.Errorf(errkind.Usage, "bad request body: %w", err)
	}
	return nil
}
