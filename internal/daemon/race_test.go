//go:build race

package daemon

// raceEnabled is true under -race, whose instrumentation allocates.
const raceEnabled = true
