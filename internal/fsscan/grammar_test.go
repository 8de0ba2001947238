package fsscan

import (
	"strings"
	"testing"
)

func TestClassifyName(t *testing.T) {
	long := strings.Repeat("t", 253)
	for _, tc := range []struct {
		machine, name string
		want          Entry  // Name is filled in from name
		reason        string // for strays: a part of the reason
	}{
		// Every row of design §1, for a machine with dashes in its name.
		{machine: "linux-gcc_6", name: "linux-gcc_6", want: Entry{Kind: KindCurrent}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-1", want: Entry{Kind: KindRevision, Rev: 1}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-42", want: Entry{Kind: KindRevision, Rev: 42}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-18446744073709551615", want: Entry{Kind: KindRevision, Rev: 18446744073709551615}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-stage", want: Entry{Kind: KindImage, Toolchain: "stage"}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-1.0", want: Entry{Kind: KindImage, Toolchain: "1.0"}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-stage-017", want: Entry{Kind: KindSnapshot, Toolchain: "stage", ID: "017"}},
		{machine: "linux-gcc_6", name: "linux-gcc_6-stage-abc", want: Entry{Kind: KindSnapshot, Toolchain: "stage", ID: "abc"}},
		{machine: "linux-gcc_6", name: "new-linux-gcc_6", want: Entry{Kind: KindTransient}},
		{machine: "linux-gcc_6", name: ".bmsched-tmp-x", want: Entry{Kind: KindTemp}},
		{machine: "linux-gcc_6", name: ".bmsched-bootstrap-stage-3", want: Entry{Kind: KindTemp}},

		// The machine name decides where the parts start, not the dashes.
		{machine: "linux", name: "linux-gcc_6-1", want: Entry{Kind: KindSnapshot, Toolchain: "gcc_6", ID: "1"}},
		{machine: "linux", name: "linux-gcc_6", want: Entry{Kind: KindImage, Toolchain: "gcc_6"}},
		{machine: "a-b-c", name: "a-b-c", want: Entry{Kind: KindCurrent}},
		{machine: "a-b-c", name: "a-b-c-7", want: Entry{Kind: KindRevision, Rev: 7}},
		{machine: "a-b-c", name: "a-b-c-t-x", want: Entry{Kind: KindSnapshot, Toolchain: "t", ID: "x"}},
		{machine: "a-b-c", name: "a-b", reason: "not an entry of machine"},
		{machine: "a-b-c", name: "a-b-c-t-x-y", reason: "more than two dash-separated parts"},
		{machine: "a-b", name: "a-b-c-1", want: Entry{Kind: KindSnapshot, Toolchain: "c", ID: "1"}},
		{machine: "a-1", name: "a-1-2", want: Entry{Kind: KindRevision, Rev: 2}},
		{machine: "a-1", name: "a-1", want: Entry{Kind: KindCurrent}},
		{machine: "a", name: "a-1-2", reason: "all-digit toolchain"},
		{machine: "news", name: "new-news", want: Entry{Kind: KindTransient}},
		{machine: "news", name: "news-new", want: Entry{Kind: KindImage, Toolchain: "new"}},
		{machine: "linux", name: "new-linux-1", reason: "not an entry of machine"},
		{machine: "linux", name: "new-", reason: "not an entry of machine"},

		// Numeric toolchains cannot exist.
		{machine: "m", name: "m-123", want: Entry{Kind: KindRevision, Rev: 123}},
		{machine: "m", name: "m-123-abc", reason: `all-digit toolchain "123"`},

		// Revisions are canonical decimals from 1.
		{machine: "m", name: "m-01", reason: `revision "01" has a leading zero`},
		{machine: "m", name: "m-00", reason: `revision "00" has a leading zero`},
		{machine: "m", name: "m-0", reason: "revision 0: revisions start at 1"},
		{machine: "m", name: "m-18446744073709551616", reason: "out of range"},
		{machine: "m", name: "m-" + strings.Repeat("9", 40), reason: "out of range"},

		// Empty parts.
		{machine: "m", name: "m-", reason: "nothing"},
		{machine: "m", name: "m--x", reason: "empty toolchain or snapshot id"},
		{machine: "m", name: "m-t-", reason: "empty toolchain or snapshot id"},
		{machine: "m", name: "m---", reason: "more than two"},
		{machine: "m", name: "m-.", reason: `invalid toolchain name "."`},
		{machine: "m", name: "m-..", reason: `invalid toolchain name ".."`},
		{machine: "m", name: "m-t-..", reason: `invalid snapshot id ".."`},
		{machine: "m", name: "m-..-x", reason: `invalid toolchain name ".."`},

		// Temporaries.
		{machine: "m", name: ".bmsched-", reason: "nothing after it"},
		{machine: "m", name: ".bmsched", reason: "not an entry of machine"},
		{machine: "m", name: ".bmsched-a b", reason: `contains " "`},

		// Never anything but a stray: paths, NUL, odd characters, length.
		{machine: "m", name: "", reason: "empty name"},
		{machine: "m", name: ".", reason: `name is "."`},
		{machine: "m", name: "..", reason: `name is ".."`},
		{machine: "m", name: "m/..", reason: `contains "/"`},
		{machine: "m", name: "../m", reason: `contains "/"`},
		{machine: "m", name: "m-1/..", reason: `contains "/"`},
		{machine: "m", name: "m-t/x", reason: `contains "/"`},
		{machine: "m", name: "m-1\x00", reason: `contains "\x00"`},
		{machine: "m", name: "m\x00", reason: `contains "\x00"`},
		{machine: "m", name: "m-t x", reason: `contains " "`},
		{machine: "m", name: "m 1", reason: `contains " "`},
		{machine: "m", name: "m-gcc_é", reason: `contains "é"`},
		{machine: "m", name: "m-\xff", reason: `contains "\xff"`},
		{machine: "m", name: "m-1\n", reason: `contains "\n"`},
		{machine: "m", name: "M", reason: "not an entry of machine"},
		{machine: "m", name: "m-" + long + "-x", reason: "longer than 255 bytes"},
		{machine: "m", name: "m-" + long, want: Entry{Kind: KindImage, Toolchain: long}},
		{machine: "m", name: "m-" + long + "t", reason: "longer than 255 bytes"},

		// An invalid machine makes everything a stray.
		{machine: "a/b", name: "a/b", reason: "invalid machine name"},
		{machine: "..", name: "..-1", reason: "invalid machine name"},
		{machine: "", name: "-1", reason: "invalid machine name"},
		{machine: "new", name: "new-new", reason: "invalid machine name"},
	} {
		got := ClassifyName(tc.machine, tc.name)
		if tc.reason != "" {
			if got.Kind != KindStray || !strings.Contains(got.Reason, tc.reason) || got.Name != tc.name {
				t.Errorf("ClassifyName(%q, %q) = %+v, want a stray with %q", tc.machine, tc.name, got, tc.reason)
			}
			continue
		}
		want := tc.want
		want.Name = tc.name
		if got != want {
			t.Errorf("ClassifyName(%q, %q) = %+v, want %+v", tc.machine, tc.name, got, want)
		}
		if f := format(got, tc.machine); f != tc.name {
			t.Errorf("ClassifyName(%q, %q) formats as %q", tc.machine, tc.name, f)
		}
	}
}

func TestFormatters(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{RevisionName("linux-gcc_6", 2), "linux-gcc_6-2"},
		{ImageName("linux-gcc_6", "stage"), "linux-gcc_6-stage"},
		{TransientName("linux-gcc_6"), "new-linux-gcc_6"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestIsWarmName(t *testing.T) {
	for name, want := range map[string]bool{
		".bmsched-warm-pool":    true,
		".bmsched-warm-gcc-12":  true,
		".bmsched-warm-":        false,
		".bmsched-warm":         false,
		".bmsched-lease-3":      false,
		"lin-gcc-001":           false,
		".bmsched-warm-a/b":     false,
		".bmsched-warm-\x1b[2J": false,
	} {
		if got := IsWarmName(name); got != want {
			t.Errorf("IsWarmName(%q) = %v, want %v", name, got, want)
		}
	}
}
