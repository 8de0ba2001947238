package main

import (
	"strings"
	"testing"
)

func TestLookupOwner(t *testing.T) {
	for in, want := range map[string]string{"root:root": "0:0", "0:root": "0:0", "65534:65534": "65534:65534"} {
		if got, err := lookupOwner(in); err != nil || got != want {
			t.Errorf("lookupOwner(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"root":                    "want USER:GROUP",
		"no-such-user-here:root":  "user: unknown user no-such-user-here",
		"root:no-such-group-here": "group: unknown group no-such-group-here",
	} {
		_, err := lookupOwner(in)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
			t.Errorf("lookupOwner(%q) = %v (exit %d), want exit 2 saying %q", in, err, exitCode(err), want)
		}
	}
}
