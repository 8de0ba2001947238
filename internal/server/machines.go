package server

import (
	"net/http"
	"sort"
	"strings"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// resolve turns a MACHINE argument, NAME or VOLUME/NAME, into the record
// it names.
func (s *Server) resolve(spec string) (db.Machine, error) {
	vol, name, hasVol := strings.Cut(spec, "/")
	if !hasVol {
		vol, name = "", spec
	}
	if hasVol {
		if err := fsscan.ValidVolumeName(vol); err != nil {
			return db.Machine{}, errkind.Errorf(errkind.Usage, "machine %q: volume: %w", spec, err)
		}
	}
	if err := fsscan.ValidMachineName(name); err != nil {
		return db.Machine{}, errkind.Errorf(errkind.Usage, "%w", err)
	}
	if hasVol {
		m, ok, err := s.db.Machine(vol, name)
		if err != nil {
			return m, err
		}
		if !ok {
			return m, errkind.Errorf(errkind.NotFound, "no machine %s in volume %s (`bmsched list` shows the machines)", name, vol)
		}
		return m, nil
	}
	found, err := s.db.MachinesNamed(name)
	if err != nil {
		return db.Machine{}, err
	}
	switch len(found) {
	case 0:
		return db.Machine{}, errkind.Errorf(errkind.NotFound, "no machine named %s (`bmsched list` shows the machines)", name)
	case 1:
		return found[0], nil
	}
	vols := make([]string, len(found))
	for i, m := range found {
		vols[i] = m.Volume
	}
	return db.Machine{}, errkind.Errorf(errkind.Usage, "machine %s exists in volumes %s: name it as VOLUME/%s", name, strings.Join(vols, ", "), name)
}

// listMachines answers `bmsched list`: the machines named by ?m=, or all
// of them, streamed a page at a time, then (for all) the strays of the
// root and the volumes.
func (s *Server) listMachines(w http.ResponseWriter, r *http.Request) {
	specs := r.URL.Query()["m"]
	// Read before the answer starts, so that a failure is answered as one.
	page, err := s.firstMachinePage(specs)
	if err != nil {
		writeErr(w, err)
		return
	}
	ops, err := s.db.Ops()
	if err != nil {
		s.log.Warn("read the journal of commands under way", "err", err)
	}
	out := startArray(w, "machines")
	for len(page) > 0 {
		for i := range page {
			m := machineJSON(&page[i].Machine, page[i].Leases)
			addBootstrapsFrom(&m, ops)
			out.add(m)
		}
		if len(specs) > 0 || len(page) < streamPage {
			break
		}
		if page, err = s.db.MachinePage(page[len(page)-1].Key(), streamPage); err != nil {
			abortStream("machines", err, s.log)
		}
	}
	var strays []api.Stray
	var volumes []api.Volume
	if len(specs) == 0 {
		strays, volumes = s.inv.Strays(), s.volumesJSON()
	}
	out.field("strays", strays, len(strays) == 0)
	out.field("volumes", volumes, len(volumes) == 0)
	_ = out.end()
}

// firstMachinePage is the machines specs name, with their leases, or the
// first page of all machines when specs is empty.
func (s *Server) firstMachinePage(specs []string) ([]db.MachineAndLeases, error) {
	if len(specs) == 0 {
		return s.db.MachinePage("", streamPage)
	}
	var page []db.MachineAndLeases
	for _, spec := range specs {
		m, err := s.resolve(spec)
		if err != nil {
			return nil, err
		}
		ls, err := s.db.MachineLeases(m.Volume, m.Name)
		if err != nil {
			return nil, err
		}
		page = append(page, db.MachineAndLeases{Machine: m, Leases: ls})
	}
	return page, nil
}

// volumesJSON is the volumes the database knows, for the end of a list
// already under way: a read that fails aborts the stream.
func (s *Server) volumesJSON() []api.Volume {
	vs, err := s.db.Volumes()
	if err != nil {
		abortStream("machines", err, s.log)
	}
	var out []api.Volume
	for _, v := range vs {
		out = append(out, api.Volume{Name: v.Name, State: v.State, FS: v.FS, Type: v.Type, Mount: v.Mount, Since: v.Since})
	}
	return out
}

func (s *Server) showMachine(w http.ResponseWriter, r *http.Request) {
	m, err := s.resolve(r.URL.Query().Get("m"))
	if err != nil {
		writeErr(w, err)
		return
	}
	leases, err := s.db.MachineLeases(m.Volume, m.Name)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := machineJSON(&m, leases)
	s.addBootstraps(&out)
	s.addWarm(&out)
	writeJSON(w, out)
}

// machineJSON renders a record in the shape of design §5, joining in the
// leases held on its snapshots: those of m, as db.MachineLeases reads
// them (others are passed over).
func machineJSON(m *db.Machine, leases []db.Lease) api.Machine {
	out := api.Machine{
		Volume:     m.Volume,
		Name:       m.Name,
		Dir:        m.Dir,
		State:      m.State,
		Revisions:  []api.Revision{},
		Toolchains: []api.Toolchain{},
		Snapshots:  []api.Snapshot{},
		Strays:     []api.Stray{},
		Transients: m.Transients,
		Temps:      m.Temps,
	}
	if m.Current != 0 {
		c := m.Current
		out.Current = &c
	}
	for _, r := range m.Revisions {
		out.Revisions = append(out.Revisions, api.Revision{Rev: r.Rev, Readonly: r.Readonly, UUID: r.UUID, ReceivedUUID: r.ReceivedUUID})
	}
	for _, im := range m.Images {
		t := api.Toolchain{Name: im.Toolchain, Stale: im.Stale, Readonly: im.Readonly, UUID: im.UUID, ParentUUID: im.ParentUUID}
		if im.BaseRevision != 0 {
			b := im.BaseRevision
			t.BaseRevision = &b
		}
		out.Toolchains = append(out.Toolchains, t)
	}
	bySnap := map[string]uint64{}
	for _, l := range leases {
		if l.Volume == m.Volume && l.Machine == m.Name {
			out.Leases++
			bySnap[l.Snapshot] = l.ID
		}
	}
	seen := map[string]bool{}
	for _, sn := range m.Snapshots {
		j := api.Snapshot{Name: sn.Name, Toolchain: sn.Toolchain}
		if id, ok := bySnap[sn.Name]; ok {
			j.Lease = &id
		}
		seen[sn.Name] = true
		out.Snapshots = append(out.Snapshots, j)
	}
	// A lease whose snapshot the last scan has not seen yet (just made)
	// still shows.
	for _, l := range leases {
		if l.Volume == m.Volume && l.Machine == m.Name && !seen[l.Snapshot] {
			id := l.ID
			out.Snapshots = append(out.Snapshots, api.Snapshot{Name: l.Snapshot, Toolchain: l.Toolchain, Lease: &id})
		}
	}
	sort.Slice(out.Snapshots, func(i, j int) bool { return out.Snapshots[i].Name < out.Snapshots[j].Name })
	out.Strays = append(out.Strays, m.Strays...)
	return out
}
