package fsscan

import (
	"strings"
	"testing"
)

func TestNewNameBounds(t *testing.T) {
	m, tc := strings.Repeat("m", MaxMachineLen), strings.Repeat("t", MaxToolchainLen)
	if err := ValidNewMachineName(m); err != nil {
		t.Errorf("machine of %d bytes: %v", len(m), err)
	}
	if err := ValidNewToolchain(tc); err != nil {
		t.Errorf("toolchain of %d bytes: %v", len(tc), err)
	}
	checkRule(t, "ValidNewMachineName", m+"m", ValidNewMachineName(m+"m"), "is 101 bytes, longer than 100")
	checkRule(t, "ValidNewToolchain", tc+"t", ValidNewToolchain(tc+"t"), "is 65 bytes, longer than 64")
	// The grammar's own rules still come first.
	checkRule(t, "ValidNewMachineName", "new-x", ValidNewMachineName("new-x"), `must not be "new"`)
	checkRule(t, "ValidNewToolchain", "123", ValidNewToolchain("123"), "must not be all digits")
	// The longest names bmsched derives from the longest names allowed fit.
	snap := m + "-" + tc + "-" + "18446744073709551615"
	if len(snap) > MaxNameLen {
		t.Errorf("snapshot name of %d bytes exceeds %d", len(snap), MaxNameLen)
	}
	if err := ValidSnapshotID("18446744073709551615"); err != nil {
		t.Error(err)
	}
	if e := ClassifyName(m, snap); e.Kind != KindSnapshot {
		t.Errorf("longest snapshot name classified %v (%s)", e.Kind, e.Reason)
	}
}
