// Package fsscan reads machine volumes laid out as in the Build OS manual
// (design §1) into pure data: the name grammar (ValidMachineName,
// ClassifyName, ...), the bounds on the names bmsched derives, the rules
// that entries of each kind must follow (Classify), provenance from btrfs
// UUIDs, and the one walk of a machines root: its volumes (ReadRoot),
// their machine directories (ReadVolume) and one machine directory
// (ScanMachine).
//
// Classification is by name relative to the machine's own name, then by
// type; it never follows a link and never descends into a subvolume. What
// breaks a rule is reported as a Stray with its reason and is never
// guessed at: bmsched deletes nothing it cannot name exactly.
//
// It keeps no state and starts no goroutine; following changes as they
// happen is internal/watch's.
package fsscan
