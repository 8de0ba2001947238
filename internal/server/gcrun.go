package server

import (
	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/ops"
)

// gc runs gc and remembers the run for `bmsched status`.
func (s *Server) gc(boot, dryRun bool, progress ops.Progress) ([]string, error) {
	lines, err := s.ops.GC(boot, dryRun, progress)
	acts, kept := ops.CountActions(lines)
	s.mon.ran(api.GCRun{Boot: boot, DryRun: dryRun, Actions: acts, Kept: kept}, err)
	return lines, err
}
