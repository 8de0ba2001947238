package main

import (
	"strings"
)

// roff writes a manual page in the man macros, escaping what roff would
// read as its own: a backslash, a line that begins with a control
// character, and the hyphens of options (written \- so that they can be
// searched for and copied).
type roff struct{ strings.Builder }

// request writes a request such as .SH NAME; args are escaped, and
// quoted when empty or of several words.
func (r *roff) request(name string, args ...string) {
	r.WriteString("." + name)
	for _, a := range args {
		a = roffText(a)
		if a == "" || strings.ContainsAny(a, " \t") {
			a = `"` + strings.ReplaceAll(a, `"`, `\(dq`) + `"`
		}
		r.WriteString(" " + a)
	}
	r.WriteString("\n")
}

// text writes prose: each line as a line of text, a blank line as a new
// paragraph, `code` in bold.
func (r *roff) text(s string) {
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			r.request("PP")
			continue
		}
		r.WriteString(roffLine(codeSpans(roffText(line))) + "\n")
	}
}

// bold writes s in bold on a line of its own, then plain, the tag of a
// .TP paragraph.
func (r *roff) bold(s string, rest string) {
	r.WriteString(roffLine(`\fB`+roffText(s)+`\fR`+roffText(rest)) + "\n")
}

// roffText escapes backslashes and dashes.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLine keeps a text line that begins with . or ' from being read as
// a request.
func roffLine(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}

// codeSpans sets `code` in bold.
func codeSpans(s string) string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		return s // unbalanced: leave it as written
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			p = `\fB` + p + `\fR`
		}
		b.WriteString(p)
	}
	return b.String()
}
