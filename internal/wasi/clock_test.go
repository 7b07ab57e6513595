package wasi_test

import "testing"

// TestCPUClocksPrecise: the CPU-time clocks advance between two reads a few
// microseconds apart, never by more than the monotonic time between them,
// and say so (resolution 1 ns). They used to advance only at context
// switches, in steps of a slice (~3 ms), while claiming 1 ns.
func TestCPUClocksPrecise(t *testing.T) {
	out, st := runProg(t, cProg(t, "cpuclock.c"), nil)
	if want := "ok process cputime\nok thread cputime\n"; st != 0 || out != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s", st, out, want)
	}
}
