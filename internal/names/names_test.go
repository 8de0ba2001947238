package names

import (
	"errors"
	"strings"
	"testing"
)

func TestValidMachineName(t *testing.T) {
	for _, ok := range []string{"linux-gcc_6", "a", "x86_64+v2.1", "lin-gcc-17"} {
		if err := ValidMachineName(ok); err != nil {
			t.Errorf("ValidMachineName(%q) = %v, want nil", ok, err)
		}
	}
	for bad, rule := range map[string]string{
		"":                       "must not be empty",
		"a b":                    `contains " "`,
		".hidden":                "must not start with '.'",
		"-a":                     "must not start or end with '-'",
		"a--b":                   `must not contain "--"`,
		"new-lin":                `start with "new-"`,
		"é":                      `contains "é"`,
		strings.Repeat("a", 256): "longer than 255 bytes",
	} {
		err := ValidMachineName(bad)
		var ne *NameError
		if !errors.As(err, &ne) || !strings.Contains(ne.Rule, rule) {
			t.Errorf("ValidMachineName(%q) = %v, want a *NameError saying %q", bad, err, rule)
		}
	}
}
