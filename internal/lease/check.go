package lease

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// check refuses a request the machine cannot serve, naming the cause and
// the fix, and returns the machine and its image's path. It reads the
// image from disk: the read-only flag raises no event, so the database
// may not know it yet.
func (s *Scheduler) check(req Request) (db.Machine, string, error) {
	m, ok, err := s.db.Machine(req.Volume, req.Machine)
	if err != nil {
		return m, "", err
	}
	name := req.Volume + "/" + req.Machine
	if !ok {
		return m, "", errkind.Errorf(errkind.NotFound, "no machine %s (`bmsched list` shows the machines)", name)
	}
	if !s.inv.Available(req.Volume) {
		return m, "", errkind.Errorf(errkind.Refused, "machine %s: %w", name, s.inv.UnavailableError(req.Volume))
	}
	if m.State != string(fsscan.Active) {
		return m, "", errkind.Errorf(errkind.Refused, "machine %s is not active: %s", name, notActiveWhy(m))
	}
	img := imageOf(m, req.Toolchain)
	if img == nil {
		return m, "", errkind.Errorf(errkind.NotFound, "machine %s has no image for toolchain %s (bootstrap it with `bmsched bootstrap %s %s -- COMMAND`)", name, req.Toolchain, req.Machine, req.Toolchain)
	}
	image := filepath.Join(m.Dir, m.Name+"-"+req.Toolchain)
	if err := s.checkImage(req.Volume, image); err != nil {
		return m, "", err
	}
	if img.Stale && !req.AllowStale {
		base := "an unknown revision"
		if img.BaseRevision != 0 {
			base = fmt.Sprintf("revision %d", img.BaseRevision)
		}
		return m, "", errkind.Errorf(errkind.Refused, "image %s-%s of %s is stale: bootstrapped from %s, current is revision %d; bootstrap it again, or pass --allow-stale", m.Name, req.Toolchain, name, base, m.Current)
	}
	return m, image, nil
}

// notActiveWhy says why a machine that is not active is so, and the fix.
func notActiveWhy(m db.Machine) string {
	why := map[string]string{
		string(fsscan.Pending):  "it has no current link yet (add it, or `ln -s " + m.Name + "-REV " + m.Name + "`)",
		string(fsscan.Retiring): "its current link was removed: it is being retired",
		string(fsscan.Deleting): "`bmsched delete` is draining it",
	}[m.State]
	if why == "" {
		why = "its state is " + m.State
	}
	for _, st := range m.Strays {
		if st.Name == m.Name {
			// There is a link, but not a valid one.
			why = st.Reason + " (fix it: `ln -sfn " + m.Name + "-REV " + m.Name + "`, or `bmsched upgrade " + m.Name + " --rev REV`)"
		}
	}
	return why
}

// imageOf returns the machine's image of toolchain t, nil for none.
func imageOf(m db.Machine, t string) *db.Image {
	for i := range m.Images {
		if m.Images[i].Toolchain == t {
			return &m.Images[i]
		}
	}
	return nil
}

// checkImage refuses an image that is gone or not read-only on disk.
func (s *Scheduler) checkImage(volume, image string) error {
	drv, err := s.inv.Driver(volume)
	if err != nil {
		return err
	}
	info, err := drv.Info(image)
	if errors.Is(err, fs.ErrNotExist) {
		return errkind.Errorf(errkind.NotFound, "image %s is gone from disk", image)
	}
	if err != nil {
		return err
	}
	if !info.Readonly {
		return errkind.Errorf(errkind.Refused, "image %s is not read-only: it may still be bootstrapping; when it is done, `btrfs property set -ts %s ro true`", image, image)
	}
	return nil
}
