package server

import (
	"strings"

	"github.com/bmsched/bmsched/internal/api"
)

// opResult is what an operator command did: its actions, and the events
// recorded about its machine (any machine for gc) after since.
func (s *Server) opResult(op, machine, message string, actions []api.OpAction, since uint64) *api.OpResult {
	if actions == nil {
		actions = []api.OpAction{}
	}
	return &api.OpResult{Op: op, Machine: machine, Message: message, Actions: actions,
		Events: s.eventsSince(since, machine)}
}

// lastEventSeq is the sequence number of the newest event, 0 for none.
func (s *Server) lastEventSeq() uint64 {
	evs, err := s.db.LastEvents(1)
	if err != nil || len(evs) == 0 {
		return 0
	}
	return evs[0].Seq
}

// maxResultEvents bounds the events a result lists: a gc on a large host
// records one per machine at most, far fewer than this.
const maxResultEvents = 10000

// eventsSince lists the events after seq about machine (VOLUME/NAME), or
// all of them for "".
func (s *Server) eventsSince(seq uint64, machine string) []uint64 {
	seqs := []uint64{}
	evs, err := s.db.Events(seq, maxResultEvents)
	if err != nil {
		// The command is done; its result lacks only the events.
		s.log.Warn("list an operator command's events", "err", err)
		return seqs
	}
	vol, name, _ := strings.Cut(machine, "/")
	for _, e := range evs {
		if machine == "" || (e.Volume == vol && e.Machine == name) {
			seqs = append(seqs, e.Seq)
		}
	}
	return seqs
}
