package errkind

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestKindKeepsCause(t *testing.T) {
	err := Errorf(NotFound, "--from /src: %w", fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v: the cause is lost", err)
	}
	if Of(err) != NotFound || !Is(err, NotFound) {
		t.Errorf("Of(%v) = %v, want not found", err, Of(err))
	}
	if got := err.Error(); got != "--from /src: file does not exist" {
		t.Errorf("message %q", got)
	}
}

func TestOutermostKindWins(t *testing.T) {
	inner := Errorf(NotFound, "no machine lin")
	outer := fmt.Errorf("upgrade: %w", Errorf(Refused, "machine lin: %w", inner))
	if Of(outer) != Refused {
		t.Errorf("Of = %v, want refused: a wrapper's kind says what the caller can do", Of(outer))
	}
	if Outermost(outer).Error() != "machine lin: no machine lin" {
		t.Errorf("Outermost = %q", Outermost(outer).Error())
	}
}

func TestNoKind(t *testing.T) {
	if Of(errors.New("disk on fire")) != Failed || Of(nil) != Failed {
		t.Error("an error of no kind is Failed")
	}
	if Wrap(Usage, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if err := Wrap(Usage, fs.ErrInvalid); Of(err) != Usage || !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Wrap: %v, kind %v", err, Of(err))
	}
	if Kind(42).String() != "kind(42)" || NoCapacity.String() != "no capacity" {
		t.Error("String")
	}
}
