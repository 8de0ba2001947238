package db

import (
	"fmt"
	"runtime/debug"
)

// Safely runs fn, which reads the database's pages through bbolt, and
// turns a panic of bbolt's (an assertion on a page) or a memory fault on
// its mapping into a *DamagedError, so that an offline command on a
// damaged file says so instead of dying. Verify catches what it can
// before the file is mapped; this is for whatever it cannot.
func (d *DB) Safely(fn func() error) (err error) {
	// Faults on the mapping become panics in this goroutine only.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &DamagedError{Path: d.path, Problem: fmt.Sprintf("bbolt failed reading it: %v", r)}
		}
	}()
	return fn()
}
