package btrfs

import (
	"crypto/rand"
	"encoding/hex"
)

// formatUUID renders a kernel UUID in the canonical 8-4-4-4-12 lowercase
// form. The kernel reports "none" (no parent, not received) as all zeros,
// which becomes "" so that Info's omitempty fields mean what they say.
func formatUUID(u [16]byte) string {
	if u == ([16]byte{}) {
		return ""
	}
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// newUUID returns a random (version 4) UUID, the identity the plain driver
// gives the directories it makes, like btrfs gives its subvolumes one.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])         // never fails: since Go 1.24 it crashes the program instead
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return formatUUID(u)
}
