// Package fsscan reads machine volumes laid out as in the Build OS manual
// (design §1) into pure data: the name grammar (ValidMachineName,
// ClassifyName, ...), the rules that entries of each kind must follow
// (Classify), and the scan of a machines root, a volume or one machine
// directory (ScanRoot, ScanVolume, ScanMachine).
//
// Classification is by name relative to the machine's own name, then by
// type; it never follows a link and never descends into a subvolume. What
// breaks a rule is reported as a Stray with its reason and is never
// guessed at: bmsched deletes nothing it cannot name exactly.
//
// The Watcher (watch*.go) follows the root, its volumes and their machine
// directories with fsnotify, never inside an image or snapshot, and asks
// its owner to rescan one machine directory after a short quiet spell, or
// everything when events were lost.
package fsscan
