package warm

import "testing"

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"m=3":            {Machine: "m", N: 3},
		"lin-x/gcc=0":    {Machine: "lin-x", Toolchain: "gcc", N: 0},
		"disk/lin/gcc=8": {Volume: "disk", Machine: "lin", Toolchain: "gcc", N: 8},
	} {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"m", "m=-1", "m=65", "m=x", "a/b/c/d=1", "../x=1", "m/g-c=1", "=1"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
}

// The most specific --warm-for wins, else --warm.
func TestTarget(t *testing.T) {
	c := Config{PerImage: 2, For: []Target{
		{Machine: "m", N: 4},
		{Machine: "m", Toolchain: "gcc", N: 6},
		{Volume: "disk", Machine: "m", Toolchain: "gcc", N: 0},
	}}
	for k, want := range map[key]int{
		{"default", "x", "gcc"}:   2,
		{"default", "m", "clang"}: 4,
		{"default", "m", "gcc"}:   6,
		{"disk", "m", "gcc"}:      0,
	} {
		if got := c.target(k); got != want {
			t.Errorf("target(%v) = %d, want %d", k, got, want)
		}
	}
	if (Config{}).Enabled() || !(Config{For: []Target{{Machine: "m", N: 1}}}).Enabled() {
		t.Error("Enabled")
	}
}
