package fsscan

import (
	"errors"
	"strings"
	"testing"
)

// The rule of every dash-free name part (a toolchain, a snapshot id, a
// volume), seen through the snapshot id, which is nothing more.
func TestValidComponent(t *testing.T) {
	for _, tc := range []struct {
		s    string
		rule string // "" when valid
	}{
		{"gcc_6", ""},
		{"clang+15.0", ""},
		{"017", ""},
		{".hidden", ""},
		{"a..b", ""},
		{strings.Repeat("x", 255), ""},
		{"", "must not be empty"},
		{".", "must not be . or .."},
		{"..", "must not be . or .."},
		{strings.Repeat("x", 256), "longer than 255 bytes"},
		{"a-b", `contains "-"`},
		{"a/b", `contains "/"`},
		{"a b", `contains " "`},
		{"a\x00b", `contains "\x00"`},
		{"é", `contains "é"`},
		{"\xff", `contains "\xff"`},
	} {
		err := ValidSnapshotID(tc.s)
		checkRule(t, "ValidSnapshotID", tc.s, err, tc.rule)
	}
}

func TestValidMachineName(t *testing.T) {
	for _, tc := range []struct {
		s    string
		rule string
	}{
		{"linux-gcc_6", ""},
		{"windows-msvc_14", ""},
		{"a-b-c", ""},
		{"linux", ""},
		{"123", ""},
		{"x.y+z", ""},
		{"news", ""},
		{"renew-x", ""},
		{"a/b", `contains "/": only letters, digits and _ . + - are allowed`},
		{"", "must not be empty"},
		{".", "must not start with '.'"},
		{"..", "must not start with '.'"},
		{".bmsched-x", "must not start with '.'"},
		{".hidden", "must not start with '.'"},
		{"-x", "must not start or end with '-'"},
		{"x-", "must not start or end with '-'"},
		{"-", "must not start or end with '-'"},
		{"a--b", `must not contain "--"`},
		{"new", `must not be "new" or start with "new-"`},
		{"new-linux", `must not be "new" or start with "new-"`},
		{"new-new", `must not be "new" or start with "new-"`},
		{strings.Repeat("x", 256), "longer than 255 bytes"},
		{"a\nb", `contains "\n"`},
	} {
		checkRule(t, "ValidMachineName", tc.s, ValidMachineName(tc.s), tc.rule)
	}
	// The example message of the design, verbatim.
	if got, want := ValidMachineName("a/b").Error(), `invalid machine name "a/b": contains "/": only letters, digits and _ . + - are allowed`; got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
}

func TestValidToolchainVolumeSnapshotID(t *testing.T) {
	for _, tc := range []struct {
		f    func(string) error
		fn   string
		s    string
		rule string
	}{
		{ValidToolchain, "ValidToolchain", "gcc_6", ""},
		{ValidToolchain, "ValidToolchain", "1.0", ""},
		{ValidToolchain, "ValidToolchain", "123", "must not be all digits"},
		{ValidToolchain, "ValidToolchain", "a-b", `contains "-"`},
		{ValidVolumeName, "ValidVolumeName", "default", ""},
		{ValidVolumeName, "ValidVolumeName", ".snapshots", "must not start with '.'"},
		{ValidVolumeName, "ValidVolumeName", "lost+found", "is the filesystem's"},
		{ValidVolumeName, "ValidVolumeName", "a-b", `contains "-"`},
		{ValidSnapshotID, "ValidSnapshotID", "017", ""},
		{ValidSnapshotID, "ValidSnapshotID", "..", "must not be . or .."},
	} {
		checkRule(t, tc.fn, tc.s, tc.f(tc.s), tc.rule)
	}
}

func checkRule(t *testing.T, fn, s string, err error, rule string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Errorf("%s(%q) = %v, want nil", fn, s, err)
		}
		return
	}
	var ne *NameError
	if !errors.As(err, &ne) {
		t.Errorf("%s(%q) = %v, want a *NameError with %q", fn, s, err, rule)
		return
	}
	if ne.Name != s || !strings.Contains(err.Error(), rule) {
		t.Errorf("%s(%q) = %v, want the name and %q", fn, s, err, rule)
	}
}
