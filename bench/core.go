package bench

import "isle/internal/kernel"

// coreSessions is how many times CoreMessageOneway boots a machine; the
// best session is the figure, as for the pinned rows.
const coreSessions = 5

// CoreMessageOneway measures a message between the kernel loops of two
// cores of a booted machine, one way, in nanoseconds: what the rest of isle
// gets from urpc. The cores are goroutines that the Go runtime and Linux
// place (they are not pinned; see docs/design.md), so on a busy machine this row
// is noisier than the pinned ones. It reports false when the kernel does not
// offer the measurement (it always does now).
func CoreMessageOneway(rounds int) (float64, bool, error) {
	best := 0.0
	for i := 0; i < coreSessions; i++ {
		d, err := kernel.MeasureCoreMessage(rounds)
		if err != nil {
			return 0, false, err
		}
		if ns := float64(d.Nanoseconds()); i == 0 || ns < best {
			best = ns
		}
	}
	return best, true, nil
}
