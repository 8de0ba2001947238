package cliapp

import "testing"

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, esc, text string }{
		{"lin-gcc-001", "lin-gcc-001", "lin-gcc-001"},
		{"bbot agent é@1", "bbot agent é@1", "bbot agent é@1"},
		{"a\x1b[2Jb", `"a\x1b[2Jb"`, `a\x1b[2Jb`},
		{"new\nline", `"new\nline"`, `new\nline`},
		{"rtl\u202eevil", `"rtl\u202eevil"`, `rtl\u202eevil`},
		{"bad\xffbyte", `"bad\xffbyte"`, `bad\xffbyte`},
	} {
		if got := Esc(c.in); got != c.esc {
			t.Errorf("Esc(%q) = %s, want %s", c.in, got, c.esc)
		}
		if got := EscText(c.in); got != c.text {
			t.Errorf("EscText(%q) = %s, want %s", c.in, got, c.text)
		}
	}
}
