package lease

import "testing"

// The reasons are metric label values that alerts and dashboards name:
// an event kind renamed must not silently rename its reason.
func TestEndReason(t *testing.T) {
	for kind, want := range map[string]string{
		"lease-released":     "released",
		"lease-expired":      "expired",
		"lease-owner-exited": "owner-exited",
		"lease-hold-ended":   "hold-ended",
		"lease-vanished":     "vanished",
		"lease-reaped":       "reaped",
		"lease-abandoned":    "abandoned",
		"lease-undone":       "undone",
		"lease-ended":        "volume-replaced",
	} {
		if got := EndReason(kind); got != want {
			t.Errorf("EndReason(%q) = %q, want %q", kind, got, want)
		}
	}
}
