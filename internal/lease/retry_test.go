package lease

import (
	"testing"
	"time"
)

func TestRetryBackoffDoublesUpToItsBound(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 9 {
		d = nextBackoff(d)
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		if got[i] != w*time.Second {
			t.Fatalf("pause %d = %v, want %v (all: %v)", i+1, got[i], w*time.Second, got)
		}
	}
}
