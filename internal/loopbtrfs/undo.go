package loopbtrfs

import (
	"errors"
	"sync"
)

// undoStack records how to undo each step Mount has done, to undo them in
// reverse: on Mount's failure, and as the cleanup it returns.
type undoStack []func() error

func (u *undoStack) push(f func() error) { *u = append(*u, f) }

// run undoes every step, latest first. It carries on past a failure, since
// a loop device must be detached even if the image cannot be removed.
func (u undoStack) run() error {
	var errs []error
	for i := len(u) - 1; i >= 0; i-- {
		errs = append(errs, u[i]())
	}
	return errors.Join(errs...)
}

// once returns a cleanup that undoes the steps the first time it is called
// and reports that first result on every later call, so that a deferred
// cleanup after an explicit one is harmless.
func (u undoStack) once() func() error {
	return sync.OnceValue(u.run)
}
