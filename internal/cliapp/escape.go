package cliapp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names, labels and paths come from other users and from the filesystem;
// printed raw, an escape sequence in one could rewrite an operator's
// terminal. Human output escapes them; JSON carries them exact.

// Printable reports whether s is valid UTF-8 of printable characters only.
func Printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Esc prints a name, label or path as it is when it is printable, else
// Go-quoted ("a\x1b[2Jb"), so that the reader sees it is unusual.
func Esc(s string) string {
	if Printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// EscText escapes the non-printable characters of a sentence (an event's
// message, a stray's reason) one by one, leaving the rest readable.
func EscText(s string) string {
	if Printable(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
