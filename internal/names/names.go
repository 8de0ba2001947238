// Package names is the grammar of the names bmsched is given and makes:
// machines, volumes, toolchains, snapshot ids. It is apart from the
// scanner (internal/fsscan) so that the client checks a name without
// linking the filesystem code.
package names

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the most bytes one directory entry name may have: the limit
// of every Linux filesystem, applied to the whole entry (`<m>-<t>-<x>`), not
// just to its parts.
const MaxNameLen = 255

// NameError reports a name that breaks the grammar. The CLI maps it to its
// "invalid name" exit code, so it is a type rather than a string.
type NameError struct {
	What string // "machine name", "volume name", "toolchain name", ...
	Name string
	Rule string // the rule it breaks, in words
}

func (e *NameError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.What, e.Name, e.Rule)
}

// ValidVolumeName checks a volume directory name: a component that does not
// start with '.', since hidden directories in the machines root (snapper's
// .snapshots, our own .bmsched-* temporaries) are not volumes, and is not
// "lost+found", which fsck owns when the root is an ext4 mount point.
func ValidVolumeName(s string) error {
	if err := validComponent("volume name", s); err != nil {
		return err
	}
	switch {
	case s[0] == '.':
		return &NameError{"volume name", s, "must not start with '.'"}
	case s == "lost+found":
		return &NameError{"volume name", s, "is the filesystem's, not a volume"}
	}
	return nil
}

// ValidToolchain checks a toolchain name: a component that is not all
// digits, since `<m>-<digits>` is a revision.
func ValidToolchain(s string) error {
	if err := validComponent("toolchain name", s); err != nil {
		return err
	}
	if AllDigits(s) {
		return &NameError{"toolchain name", s, "must not be all digits (that is a revision)"}
	}
	return nil
}

// ValidSnapshotID checks the `<x>` of a snapshot `<m>-<t>-<x>`.
func ValidSnapshotID(s string) error { return validComponent("snapshot id", s) }

// ValidMachineName checks a machine directory name. Beyond the component
// alphabet it allows '-', as words joined by single dashes: no leading,
// trailing or double dash, so that every dash-separated part of an entry
// name is non-empty and a leading '-' never reads as an option to ln, mv or
// btrfs in the manual's procedures. It also refuses:
//   - a leading '.': hidden from ls and from the `*` globs of the manual's
//     procedures, and `.bmsched-*` is our temporaries' prefix;
//   - "new" and "new-...": the transient link `new-<m>` of the machine
//     "new" is "new-new", which is also its image of the toolchain "new"
//     (likewise "new-new", ...); refusing the prefix keeps a machine
//     directory from ever looking like an upgrade's transient link.
func ValidMachineName(s string) error {
	const what = "machine name"
	if err := checkLen(what, s); err != nil {
		return err
	}
	if r, ok := BadChar(s, true); !ok {
		return &NameError{what, s, fmt.Sprintf("contains %q: only letters, digits and _ . + - are allowed", r)}
	}
	switch {
	case s[0] == '.':
		return &NameError{what, s, "must not start with '.'"}
	case s[0] == '-' || s[len(s)-1] == '-':
		return &NameError{what, s, "must not start or end with '-'"}
	case strings.Contains(s, "--"):
		return &NameError{what, s, "must not contain \"--\""}
	case s == "new" || strings.HasPrefix(s, "new-"):
		return &NameError{what, s, "must not be \"new\" or start with \"new-\" (the prefix of an upgrade's transient link)"}
	}
	return nil
}

func validComponent(what, s string) error {
	if err := checkLen(what, s); err != nil {
		return err
	}
	if r, ok := BadChar(s, false); !ok {
		return &NameError{what, s, fmt.Sprintf("contains %q: only letters, digits and _ . + are allowed", r)}
	}
	if s == "." || s == ".." {
		return &NameError{what, s, "must not be . or .."}
	}
	return nil
}

func checkLen(what, s string) error {
	switch {
	case s == "":
		return &NameError{what, s, "must not be empty"}
	case len(s) > MaxNameLen:
		return &NameError{what, s, fmt.Sprintf("longer than %d bytes", MaxNameLen)}
	}
	return nil
}

// BadChar returns the first character of s outside the alphabet: a whole
// rune when it is valid UTF-8, else the one byte, so that the message shows
// what an operator typed rather than U+FFFD.
func BadChar(s string, dash bool) (string, bool) {
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i], dash) {
			_, n := utf8.DecodeRuneInString(s[i:])
			return s[i : i+n], false
		}
	}
	return "", true
}

func nameByte(c byte, dash bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '_' || c == '.' || c == '+':
		return true
	}
	return dash && c == '-'
}

// AllDigits says s is a non-empty run of decimal digits.
func AllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
