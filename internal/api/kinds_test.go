package api

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/bmsched/bmsched/internal/errkind"
)

// The exit codes are design §5's and the statuses what clients and
// scripts have always seen: a change here changes the contract.
func TestKindMapping(t *testing.T) {
	for _, tc := range []struct {
		kind   errkind.Kind
		exit   int
		status int
	}{
		{errkind.Failed, 1, 500},
		{errkind.Usage, 2, 400},
		{errkind.NotFound, 3, 404},
		{errkind.NoCapacity, 4, 503},
		{errkind.Refused, 5, 409},
		{errkind.Unavailable, 6, 503},
	} {
		if got := ExitCode(tc.kind); got != tc.exit {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.kind, got, tc.exit)
		}
		if got := HTTPStatusOf(tc.kind); got != tc.status {
			t.Errorf("HTTPStatusOf(%v) = %d, want %d", tc.kind, got, tc.status)
		}
		w := WireError(errkind.Errorf(tc.kind, "it went %s", "wrong"))
		if w.Exit != tc.exit || w.Status != tc.status || w.Message != "it went wrong" {
			t.Errorf("WireError(%v) = %+v", tc.kind, w)
		}
	}
}

func TestWireError(t *testing.T) {
	// A wrapper of no kind adds context in the daemon's log, but the
	// wire carries the kind's message, as it did before kinds.
	err := fmt.Errorf("handler: %w", errkind.Errorf(errkind.NotFound, "--from /x: %w", fs.ErrNotExist))
	if w := WireError(err); w.Exit != ExitNotFound || w.Message != "--from /x: file does not exist" {
		t.Errorf("WireError = %+v", w)
	}
	// An edge's own *Error (413 for a body too large) passes as it is.
	big := &Error{Message: "too big", Exit: ExitUsage, Status: 413}
	if w := WireError(fmt.Errorf("read: %w", big)); w != big {
		t.Errorf("WireError = %+v, want the 413 as it was", w)
	}
	// The outermost of the two wins.
	if w := WireError(errkind.Errorf(errkind.Usage, "body: %w", big)); w.Status != 400 || w.Exit != ExitUsage {
		t.Errorf("WireError = %+v, want the kind's 400", w)
	}
	if w := WireError(errors.New("disk on fire")); w.Exit != ExitFailed || w.Status != 0 || w.Message != "disk on fire" {
		t.Errorf("WireError = %+v", w)
	}
	// Several %w: searched depth first.
	two := fmt.Errorf("%w and %w", errors.New("a"), errkind.Errorf(errkind.Refused, "b"))
	if w := WireError(two); w.Exit != ExitRefused {
		t.Errorf("WireError = %+v", w)
	}
}
