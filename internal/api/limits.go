package api

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxBody is the most the daemon reads of a request body, streams of
// add and upgrade --receive aside: every request of the contract fits in
// far less, and a larger one only grows the daemon and its database.
const MaxBody = 64 << 10

// MinLeaseDuration is the shortest TTL or hold the daemon takes
// (internal/lease's MinDuration): the client refuses shorter ones before
// sending anything, without linking the scheduler.
const MinLeaseDuration = time.Second

// MaxLabel is the longest owner label, in bytes.
const MaxLabel = 256

// ValidLabel accepts a label of at most MaxLabel bytes of printable
// UTF-8: it is shown to operators in their terminals, so control
// characters, which could rewrite the screen, are refused.
func ValidLabel(s string) error {
	if len(s) > MaxLabel {
		return fmt.Errorf("label of %d bytes: at most %d are allowed", len(s), MaxLabel)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("label %q: not UTF-8", s)
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("label %q: character %U at byte %d is not printable (control and format characters are refused)", s, r, i)
		}
	}
	return nil
}
