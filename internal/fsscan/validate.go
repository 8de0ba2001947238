package fsscan

import "github.com/bmsched/bmsched/internal/names"

// The grammar of names lives in internal/names, which the client links
// without the scanner; these are its names here.

// MaxNameLen is the most bytes one directory entry name may have.
const MaxNameLen = names.MaxNameLen

// NameError reports a name that breaks the grammar.
type NameError = names.NameError

// ValidVolumeName checks a volume directory name.
func ValidVolumeName(s string) error { return names.ValidVolumeName(s) }

// ValidToolchain checks a toolchain name.
func ValidToolchain(s string) error { return names.ValidToolchain(s) }

// ValidSnapshotID checks the `<x>` of a snapshot `<m>-<t>-<x>`.
func ValidSnapshotID(s string) error { return names.ValidSnapshotID(s) }

// ValidMachineName checks a machine directory name.
func ValidMachineName(s string) error { return names.ValidMachineName(s) }

func badChar(s string, dash bool) (string, bool) { return names.BadChar(s, dash) }

func allDigits(s string) bool { return names.AllDigits(s) }
