//go:build race

package main

// raceFlags builds the crash daemon with the race detector, as this test
// binary was built.
var raceFlags = []string{"-race"}
