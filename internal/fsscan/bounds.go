package fsscan

import "fmt"

// MaxMachineLen and MaxToolchainLen bound the names bmsched is asked to
// make entries from: a snapshot `<m>-<t>-<id>` with a 20-digit id (the
// largest uint64) takes at most 100+1+64+1+20 = 186 bytes, and the
// longest temporary, `.bmsched-` plus a kind and an id, far less, so
// every derived name fits in MaxNameLen and no acquire fails with "file
// name too long" on a machine that add accepted.
//
// The scan does not apply them: an entry made by hand under a longer
// name is still reported for what it is, and the commands that would
// derive a name from it refuse it with the bound.
const (
	MaxMachineLen   = 100
	MaxToolchainLen = 64
)

// ValidNewMachineName checks the name of a machine that a command is to
// create or act on: the grammar, and at most MaxMachineLen bytes.
func ValidNewMachineName(s string) error {
	if err := ValidMachineName(s); err != nil {
		return err
	}
	return maxLen("machine name", s, MaxMachineLen)
}

// ValidNewToolchain checks a toolchain to bootstrap or acquire: the
// grammar, and at most MaxToolchainLen bytes.
func ValidNewToolchain(s string) error {
	if err := ValidToolchain(s); err != nil {
		return err
	}
	return maxLen("toolchain name", s, MaxToolchainLen)
}

func maxLen(what, s string, n int) error {
	if len(s) > n {
		return &NameError{What: what, Name: s, Rule: fmt.Sprintf("is %d bytes, longer than %d: `<machine>-<toolchain>-<id>` must fit in %d", len(s), n, MaxNameLen)}
	}
	return nil
}
