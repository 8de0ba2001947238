package server

import (
	"path/filepath"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
)

// addBootstraps shows the bootstraps under way on a machine, so that a
// temporary in its directory can be told from one that a crash left.
func (s *Server) addBootstraps(m *api.Machine) {
	ops, err := s.db.Ops()
	if err != nil {
		s.log.Warn("read the journal of commands under way", "err", err)
		return
	}
	addBootstrapsFrom(m, ops)
}

// addBootstrapsFrom adds, from the journal read once for a whole list, the
// bootstraps under way on m.
func addBootstrapsFrom(m *api.Machine, ops []db.Op) {
	for _, op := range ops {
		if op.Kind != "bootstrap" || op.Volume != m.Volume || op.Machine != m.Name {
			continue
		}
		m.Bootstraps = append(m.Bootstraps, api.BootstrapRun{Op: op.ID, Toolchain: op.Toolchain, Revision: op.Rev,
			ClientPID: op.ClientPID, Temp: filepath.Base(op.Temp), Step: op.Step, Started: op.Started})
	}
}
