package ops

import "strings"

// receiveHint says what to do about a failed `btrfs receive`, from what it
// printed: a full or read-only filesystem is no fault of the stream, and
// asking whether stdin is a send stream would send the operator the wrong
// way.
func receiveHint(stderr string) string {
	s := strings.ToLower(stderr)
	switch {
	case strings.Contains(s, "no space left on device"), strings.Contains(s, "quota exceeded"):
		return "the machine volume is full: free space on it (delete old revisions with `bmsched upgrade --prune`, or run `bmsched gc --boot`), then run the command again"
	case strings.Contains(s, "read-only file system"):
		return "the machine volume is read-only (mounted so, or remounted after an error: see dmesg): make it writable, then run the command again"
	case strings.Contains(s, "permission denied"), strings.Contains(s, "operation not permitted"):
		return "the daemon may not write there: it must run as root to receive subvolumes"
	case strings.Contains(s, "stream"), strings.Contains(s, "magic"), strings.Contains(s, "eof"), s == "":
		return "is stdin a `btrfs send` stream?"
	}
	return "see btrfs receive's message above; run the command again once it is fixed"
}
