package ops

import (
	"errors"
	"io/fs"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// scan reads a machine directory now, not from the database.
func (o *Ops) scan(volume, machine string) (fsscan.Machine, error) {
	drv, err := o.driver(volume)
	if err != nil {
		return fsscan.Machine{}, err
	}
	m, err := fsscan.ScanMachine(o.inv.MachineDir(volume, machine), drv)
	if errors.Is(err, fs.ErrNotExist) {
		return m, errkind.Errorf(errkind.NotFound, "no machine %s/%s", volume, machine)
	}
	return m, err
}

// rescan stores the machine as it now is.
func (o *Ops) rescan(op *db.Op) {
	if err := o.inv.RescanMachine(op.Volume, op.Machine, "ops"); err != nil {
		o.log.Warn("rescan after command", "machine", op.Machine, "err", err)
	}
}
