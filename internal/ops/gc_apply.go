package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/bmsched/bmsched/internal/db"
)

// applyGC carries out a machine's plan and records each step done as an
// event. A step that fails is not reported as done: its error, with the
// path, is returned beside the others' lines, and the steps after it
// still run (each stands alone).
func (o *Ops) applyGC(volume, machine string, pl gcPlan) ([]string, error) {
	var done []string
	var errs []error
	for _, s := range pl {
		if err := o.applyGCStep(volume, machine, s); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, s.line(false))
	}
	op := &db.Op{Volume: volume, Machine: machine}
	for _, l := range done {
		_ = o.db.AppendEvents(o.event(op, "gc", "%s", l))
	}
	if len(pl) > 0 {
		// Failed steps too may have changed the directory.
		o.rescan(op)
	}
	return done, errors.Join(errs...)
}

func (o *Ops) applyGCStep(volume, machine string, s gcStep) error {
	switch s.kind {
	case gcDelete:
		drv, err := o.driver(volume)
		if err != nil {
			return err
		}
		if err := drv.Delete(context.Background(), s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	case gcDeleteTemp:
		return o.removeTemp(volume, s.path)
	case gcRemoveDir:
		// The pool fills no machine without a link; whatever a crash or
		// a race left of it goes before the directory.
		if err := o.drainPool(volume, machine); err != nil {
			return err
		}
		// The links of an upgrade that never finished go with the
		// directory; only an empty directory is removed.
		for _, l := range s.links {
			os.Remove(l)
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove machine directory: %w", err)
		}
	}
	return nil
}
