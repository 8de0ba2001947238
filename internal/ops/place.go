package ops

import (
	"context"

	"github.com/bmsched/bmsched/internal/errkind"
)

// beginPlacing is the preamble that add and upgrade share: the names,
// the revision and the source checked (with check, if any, for what one
// command alone needs), then the machine locked for the command and
// found not being deleted. It returns the unlock and whether the machine
// directory exists, read under the lock just before the first step.
func (o *Ops) beginPlacing(ctx context.Context, volume, machine string, rev uint64, src Source, check func() error) (unlock func(), exists bool, err error) {
	if err := validate(volume, machine); err != nil {
		return nil, false, err
	}
	if rev == 0 {
		return nil, false, errkind.Errorf(errkind.Usage, "--rev: revisions start at 1")
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, false, err
		}
	}
	if err := src.check(); err != nil {
		return nil, false, err
	}
	unlock, err = o.lockFor(ctx, volume, machine)
	if err != nil {
		return nil, false, err
	}
	if err := o.refuseDeleting(volume, machine); err != nil {
		unlock()
		return nil, false, err
	}
	exists, err = o.machineDir(volume, machine)
	if err != nil {
		unlock()
		return nil, false, err
	}
	return unlock, exists, nil
}
