package server

import (
	"fmt"

	"github.com/bmsched/bmsched/internal/api"
)

// addWarm tells, for `show`, how many snapshots of each image the warm
// pool has ready; nothing when the daemon keeps no pool.
func (s *Server) addWarm(m *api.Machine) {
	if s.pool == nil || !s.cfg.Warm.Enabled() {
		return
	}
	ready := s.pool.Ready(m.Volume, m.Name)
	for i := range m.Toolchains {
		n := ready[m.Toolchains[i].Name]
		m.Toolchains[i].Warm = &n
	}
}

// warmStatus is the pool for `status`; nil when the daemon keeps none.
func (s *Server) warmStatus() *api.WarmStatus {
	if s.pool == nil || !s.cfg.Warm.Enabled() {
		return nil
	}
	cfg, st := s.cfg.Warm, s.pool.Stats()
	out := &api.WarmStatus{PerImage: cfg.PerImage, Idle: s.pool.Config().Idle.Seconds(),
		Images: st.Images, Ready: st.Ready, Hits: st.Hits, Misses: st.Misses, Refills: st.Refills, Drained: st.Drained}
	for _, t := range cfg.For {
		spec := t.Machine
		if t.Toolchain != "" {
			spec += "/" + t.Toolchain
		}
		if t.Volume != "" {
			spec = t.Volume + "/" + spec
		}
		out.For = append(out.For, fmt.Sprintf("%s=%d", spec, t.N))
	}
	return out
}
