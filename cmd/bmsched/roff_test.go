package main

import "testing"

// Text that roff would read as its own is escaped.
func TestRoffEscapes(t *testing.T) {
	var r roff
	r.request("TH", "X", "", "two words")
	r.text(".starts with a dot\n'and a quote\n\nback\\slash and `code` --flag")
	r.bold("--name", " VALUE")
	want := `.TH X "" "two words"
\&.starts with a dot
\&'and a quote
.PP
back\eslash and \fBcode\fR \-\-flag
\fB\-\-name\fR VALUE
`
	if got := r.String(); got != want {
		t.Errorf("roff:\n%s\nwant:\n%s", got, want)
	}
}
