package fsscan

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is what an entry of a machine directory is, by its name alone.
type Kind int

const (
	KindStray     Kind = iota // outside the grammar
	KindCurrent               // <m>
	KindRevision              // <m>-<rev>
	KindImage                 // <m>-<t>
	KindSnapshot              // <m>-<t>-<x>
	KindTransient             // new-<m>
	KindTemp                  // .bmsched-*
)

// TempPrefix starts the names of bmsched's own temporaries, in a machine
// directory or a volume. It starts with '.' so that no valid machine name,
// hence no other entry of the grammar, can start with it.
const TempPrefix = ".bmsched-"

// IsTempName reports whether name is one of bmsched's temporaries:
// TempPrefix, then one or more characters of the machine name alphabet.
func IsTempName(name string) bool {
	if len(name) <= len(TempPrefix) || len(name) > MaxNameLen || !strings.HasPrefix(name, TempPrefix) {
		return false
	}
	_, ok := badChar(name, true)
	return ok
}

// WarmPrefix starts the names of the warm pool's entries (internal/warm)
// in a machine directory: the directory of its ready-made snapshots.
// They are temporaries that the pool alone makes, counts and removes: a
// scan reads past them and the watcher ignores them, so that a refill
// costs no rescan and no commit.
const WarmPrefix = TempPrefix + "warm-"

// IsWarmName reports whether name is one of the warm pool's snapshots.
func IsWarmName(name string) bool {
	return IsTempName(name) && len(name) > len(WarmPrefix) && strings.HasPrefix(name, WarmPrefix)
}

// Entry is the meaning of one entry name of a machine directory.
type Entry struct {
	Name      string
	Kind      Kind
	Rev       uint64 // KindRevision: 1 or more
	Toolchain string // KindImage, KindSnapshot
	ID        string // KindSnapshot
	Reason    string // KindStray: why the name is outside the grammar
}

// RevisionName is `<m>-<rev>`.
func RevisionName(machine string, rev uint64) string {
	return machine + "-" + strconv.FormatUint(rev, 10)
}

// ImageName is `<m>-<t>`.
func ImageName(machine, toolchain string) string { return machine + "-" + toolchain }

// TransientName is `new-<m>`, the link that an upgrade renames over `<m>`.
func TransientName(machine string) string { return "new-" + machine }

// ClassifyName says what name means in the directory of machine. It parses
// relative to the machine's own name, which may contain dashes: in the
// directory of "linux", "linux-gcc_6-1" is snapshot "1" of toolchain
// "gcc_6", while in the directory of "linux-gcc_6" it is revision 1.
//
// Anything that could reach outside the directory ('/', NUL, ".", "..")
// or has characters outside the alphabet is a stray, whatever else it
// looks like; so is every name when machine itself is invalid.
func ClassifyName(machine, name string) Entry {
	stray := func(format string, args ...any) Entry {
		return Entry{Name: name, Kind: KindStray, Reason: fmt.Sprintf(format, args...)}
	}
	if err := ValidMachineName(machine); err != nil {
		return stray("in a machine directory with an %v", err)
	}
	switch {
	case name == "":
		return stray("empty name")
	case len(name) > MaxNameLen:
		return stray("name longer than %d bytes", MaxNameLen)
	case name == "." || name == "..":
		return stray("name is %q", name)
	}
	if r, ok := badChar(name, true); !ok {
		return stray("name contains %q: only letters, digits and _ . + - are allowed", r)
	}
	switch {
	case name == machine:
		return Entry{Name: name, Kind: KindCurrent}
	case name == TransientName(machine):
		return Entry{Name: name, Kind: KindTransient}
	case strings.HasPrefix(name, TempPrefix):
		if !IsTempName(name) {
			return stray("%q with nothing after it is not a bmsched temporary", TempPrefix)
		}
		return Entry{Name: name, Kind: KindTemp}
	case strings.HasPrefix(name, machine+"-"):
		e := parseSuffix(name[len(machine)+1:])
		e.Name = name
		if e.Kind == KindStray {
			e.Reason = fmt.Sprintf("after %q: %s", machine+"-", e.Reason)
		}
		return e
	}
	return stray("not an entry of machine %q (%s, %s-..., %s or %s...)",
		machine, machine, machine, TransientName(machine), TempPrefix)
}

// parseSuffix parses what follows `<m>-`: `<rev>`, `<t>` or `<t>-<x>`.
func parseSuffix(rest string) Entry {
	stray := func(format string, args ...any) Entry {
		return Entry{Kind: KindStray, Reason: fmt.Sprintf(format, args...)}
	}
	if rest == "" {
		return stray("nothing")
	}
	t, x, isSnapshot := strings.Cut(rest, "-")
	if !isSnapshot {
		if allDigits(t) {
			return parseRev(t)
		}
		if err := ValidToolchain(t); err != nil {
			return stray("%v", err)
		}
		return Entry{Kind: KindImage, Toolchain: t}
	}
	if strings.Contains(x, "-") {
		return stray("%q has more than two dash-separated parts (<toolchain>-<id>)", rest)
	}
	if t == "" || x == "" {
		return stray("%q has an empty toolchain or snapshot id", rest)
	}
	if allDigits(t) {
		// `<m>-123-abc` would be a snapshot of a toolchain that cannot
		// exist, since `<m>-123` is a revision.
		return stray("%q names a snapshot of the all-digit toolchain %q, which cannot exist", rest, t)
	}
	if err := ValidToolchain(t); err != nil {
		return stray("%v", err)
	}
	if err := ValidSnapshotID(x); err != nil {
		return stray("%v", err)
	}
	return Entry{Kind: KindSnapshot, Toolchain: t, ID: x}
}

// parseRev accepts the canonical decimal form only: the current link names
// its revision by text, so "1" and "01" must not both name revision 1.
func parseRev(s string) Entry {
	stray := func(format string, args ...any) Entry {
		return Entry{Kind: KindStray, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "0":
		return stray("revision 0: revisions start at 1")
	case s[0] == '0':
		return stray("revision %q has a leading zero", s)
	}
	rev, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return stray("revision %q is out of range", s)
	}
	return Entry{Kind: KindRevision, Rev: rev}
}

// describe names what an entry is, for the reasons of other entries.
func (e Entry) describe() string {
	switch e.Kind {
	case KindCurrent:
		return "the current link itself"
	case KindRevision:
		return fmt.Sprintf("revision %d", e.Rev)
	case KindImage:
		return fmt.Sprintf("the image of toolchain %q", e.Toolchain)
	case KindSnapshot:
		return fmt.Sprintf("snapshot %q of toolchain %q", e.ID, e.Toolchain)
	case KindTransient:
		return "the transient link of an upgrade"
	case KindTemp:
		return "a bmsched temporary"
	}
	return "a stray: " + e.Reason
}
