package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/errkind"
)

// followBatch bounds the events read in one go; a follower far behind
// gets several batches at once.
const followBatch = 1000

// followEvents streams the event log as newline-delimited JSON: first the
// newest events (?n=, default 50; 0 for none) or those after a sequence
// number (?after=, to resume), then each event as it is appended, until
// the client goes away or the daemon stops. It is woken by the commits
// that append events; it never polls.
func (s *Server) followEvents(w http.ResponseWriter, r *http.Request) {
	after, n, err := followStart(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	// Taken before the first read: an event appended between that read
	// and the wait below still wakes the wait.
	wake := s.db.EventsAppended()
	if n >= 0 {
		newest, err := s.db.LastEvents(max(n, 1))
		if err != nil {
			writeErr(w, err)
			return
		}
		if len(newest) > 0 {
			after = newest[0].Seq - 1 // the loop below sends them
			if n == 0 {
				after = newest[0].Seq
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	for {
		// Read after the last event sent, in batches.
		for {
			es, err := s.db.Events(after, followBatch)
			if err != nil {
				// The answer has begun: all that can be said is that it
				// ends. The client reports the stream ended early.
				s.log.Warn("follow events", "err", err)
				return
			}
			for _, e := range es {
				if err := enc.Encode(api.Event(e)); err != nil {
					return // the client went away
				}
				after = e.Seq
			}
			if len(es) < followBatch {
				break
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-wake:
			wake = s.db.EventsAppended()
		case <-r.Context().Done():
			return
		case <-s.followers.stopped():
			return
		}
	}
}

// followStart reads where a follower starts: after a sequence number
// (n is then -1), or with the newest n events.
func followStart(r *http.Request) (after uint64, n int, err error) {
	q := r.URL.Query()
	if a := q.Get("after"); a != "" {
		after, err = strconv.ParseUint(a, 10, 64)
		if err != nil {
			return 0, 0, errkind.Errorf(errkind.Usage, "after=%q: not a sequence number", a)
		}
		return after, -1, nil
	}
	n = 50
	if v := q.Get("n"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			return 0, 0, errkind.Errorf(errkind.Usage, "n=%q: not a count", v)
		}
	}
	return 0, n, nil
}

// followers ends the event streams when the daemon shuts down:
// http.Server.Shutdown waits for every handler to return, and a
// follower's would not.
type followers struct {
	init, end sync.Once
	done      chan struct{}
}

func (f *followers) stopped() <-chan struct{} { return f.ch() }

func (f *followers) stop() { f.end.Do(func() { close(f.ch()) }) }

func (f *followers) ch() chan struct{} {
	f.init.Do(func() { f.done = make(chan struct{}) })
	return f.done
}
