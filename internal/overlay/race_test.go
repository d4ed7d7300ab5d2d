//go:build race

package overlay

// raceEnabled is true under -race, whose instrumentation allocates.
const raceEnabled = true
