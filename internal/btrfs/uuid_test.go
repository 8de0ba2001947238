package btrfs

import (
	"regexp"
	"testing"
)

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestFormatUUID(t *testing.T) {
	u := [16]byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 0x02, 0x03, 0xa4, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0xFF}
	if got, want := formatUUID(u), "deadbeef-0001-0203-a405-060708090aff"; got != want {
		t.Errorf("formatUUID = %q, want %q", got, want)
	}
	if got := formatUUID([16]byte{}); got != "" {
		t.Errorf("formatUUID(zero) = %q, want \"\"", got)
	}
}

func TestNewUUID(t *testing.T) {
	a, b := newUUID(), newUUID()
	if a == b {
		t.Errorf("two newUUIDs are equal: %s", a)
	}
	for _, u := range []string{a, b} {
		if !canonicalUUID.MatchString(u) {
			t.Errorf("newUUID = %q, not canonical", u)
		}
		if u[14] != '4' || !regexp.MustCompile(`[89ab]`).MatchString(u[19:20]) {
			t.Errorf("newUUID = %q, not version 4, RFC variant", u)
		}
	}
}
