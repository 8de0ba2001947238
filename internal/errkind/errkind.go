// Package errkind classifies errors by what the caller can do about them
// (not found, refused, no capacity, ...), as containerd's errdefs does.
// The core (lease, ops, server) returns errors of a kind, wrapping their
// cause with %w; only the edges turn a kind into an exit code or an HTTP
// status (api.ExitCode, api.HTTPStatusOf), so the core never names one.
package errkind

import (
	"errors"
	"fmt"
)

// Kind is what sort of failure an error is.
type Kind int

const (
	// Failed is an error of no particular kind: something went wrong.
	Failed Kind = iota
	// Usage: the request itself is wrong (a bad name, flag or value).
	Usage
	// NotFound: what the request names does not exist.
	NotFound
	// NoCapacity: no room now (leases at their limit, a wait that ran
	// out); the same request may succeed later.
	NoCapacity
	// Refused: the state forbids it (a stale image, a machine that is
	// not active, an unavailable volume, permission).
	Refused
	// Unavailable: the daemon, or a service it needs, cannot be reached.
	Unavailable
)

var names = [...]string{"failed", "usage", "not found", "no capacity", "refused", "unavailable"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(names) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return names[k]
}

// Error is an error of a kind. Its message and cause are Err's.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an error of kind k; a %w in format keeps its cause for
// errors.Is and errors.As.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Wrap gives err the kind k, keeping its message; nil stays nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Of returns the kind of err: that of the outermost *Error in its chain,
// so a wrapper's kind wins over its cause's; Failed when it has none.
func Of(err error) Kind {
	if e := Outermost(err); e != nil {
		return e.Kind
	}
	return Failed
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return Of(err) == k }

// Outermost returns the outermost *Error in err's chain, or nil.
func Outermost(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
