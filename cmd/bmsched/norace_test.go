//go:build !race

package main

// raceFlags is empty: this test binary has no race detector.
var raceFlags []string
