package api

import (
	"errors"

	"github.com/bmsched/bmsched/internal/errkind"
)

// ExitCode maps an error kind onto the exit code of the CLI contract.
func ExitCode(k errkind.Kind) int {
	switch k {
	case errkind.Usage:
		return ExitUsage
	case errkind.NotFound:
		return ExitNotFound
	case errkind.NoCapacity:
		return ExitNoCapacity
	case errkind.Refused:
		return ExitRefused
	case errkind.Unavailable:
		return ExitUnreachable
	default:
		return ExitFailed
	}
}

// HTTPStatusOf maps an error kind onto the status the daemon answers
// with.
func HTTPStatusOf(k errkind.Kind) int {
	if k == errkind.Unavailable {
		return 503
	}
	return HTTPStatus(ExitCode(k))
}

// WireError is the body that answers err: {"error": ..., "exit": N}. An
// *Error already in the chain (a refusal made at the edge, with its own
// HTTP status) is sent as it is; otherwise the outermost kind gives the
// exit code, and its message is the error. An error of no kind is exit 1.
func WireError(err error) *Error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch x := e.(type) {
		case *Error:
			return x
		case *errkind.Error:
			return fromKind(x)
		}
	}
	// A chain that branches (several %w) is searched depth first.
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	if ke := errkind.Outermost(err); ke != nil {
		return fromKind(ke)
	}
	return &Error{Message: err.Error(), Exit: ExitFailed}
}

func fromKind(e *errkind.Error) *Error {
	return &Error{Message: e.Error(), Exit: ExitCode(e.Kind), Status: HTTPStatusOf(e.Kind)}
}
