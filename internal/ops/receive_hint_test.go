package ops

import (
	"strings"
	"testing"
)

func TestReceiveHint(t *testing.T) {
	for _, c := range []struct{ stderr, want, not string }{
		{"ERROR: writing to lin-2/big failed: No space left on device", "volume is full", "`btrfs send` stream"},
		{"ERROR: cannot open lin-2: Read-only file system", "read-only", "`btrfs send` stream"},
		{"ERROR: unexpected EOF in stream", "`btrfs send` stream", "full"},
		{"ERROR: Unsupported stream version 7", "`btrfs send` stream", "full"},
		{"", "`btrfs send` stream", "full"},
	} {
		got := receiveHint(c.stderr)
		if !strings.Contains(got, c.want) || strings.Contains(got, c.not) {
			t.Errorf("receiveHint(%q) = %q, want %q and not %q", c.stderr, got, c.want, c.not)
		}
	}
}
