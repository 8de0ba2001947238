package server

import (
	"net/http"
	"strconv"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
)

// events answers the newest events (?n=, default 50), or those after a
// sequence number (?after=).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var es []db.Event
	var err error
	if a := q.Get("after"); a != "" {
		after, perr := strconv.ParseUint(a, 10, 64)
		if perr != nil {
			writeErr(w, errkind.Errorf(errkind.Usage, "after=%q: not a sequence number", a))
			return
		}
		es, err = s.db.Events(after, 1000)
	} else {
		n := 50
		if v := q.Get("n"); v != "" {
			if n, err = strconv.Atoi(v); err != nil || n <= 0 {
				writeErr(w, errkind.Errorf(errkind.Usage, "n=%q: not a positive count", v))
				return
			}
		}
		es, err = s.db.LastEvents(n)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	out := api.Events{Events: []api.Event{}}
	for _, e := range es {
		out.Events = append(out.Events, api.Event(e))
	}
	writeJSON(w, out)
}
