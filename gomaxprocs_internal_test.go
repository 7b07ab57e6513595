package isle

import "testing"

// TestProcClaims: while machines run, GOMAXPROCS covers the largest one's
// claim (cores + 1) and never drops below the value from before; stopping
// one leaves what the others need; the last release restores the value
// from before the first claim, and a second release changes nothing. A
// value the embedder set while machines ran stands after they stop.
// Before, each Stop restored what its own Boot had found.
func TestProcClaims(t *testing.T) {
	procs := 2
	p := procClaims{set: func(n int) int {
		old := procs
		if n > 0 {
			procs = n
		}
		return old
	}}
	a, b, c := new(Machine), new(Machine), new(Machine)
	steps := []struct {
		do   func()
		want int
		what string
	}{
		{func() { p.claim(a, 3) }, 3, "a 2-core machine"},
		{func() { p.claim(b, 5) }, 5, "and a 4-core one"},
		{func() { p.claim(c, 2) }, 5, "and a 1-core one"},
		{func() { p.release(b) }, 3, "the 4-core one stopped"},
		{func() { p.release(a) }, 2, "the 2-core one stopped: the 1-core one needs 2, the value before"},
		{func() { p.release(c) }, 2, "the last stopped"},
		{func() { p.release(c) }, 2, "stopped twice"},
		{func() { procs = 1; p.claim(a, 3) }, 3, "booted again after GOMAXPROCS was set to 1"},
		{func() { p.release(a) }, 1, "stopped again: the 1 from before"},
		{func() { p.claim(a, 3) }, 3, "booted a third time"},
		{func() { procs = 8 }, 8, "the embedder raised GOMAXPROCS to 8 meanwhile"},
		{func() { p.claim(b, 5) }, 8, "a 4-core machine booted: 8 is enough"},
		{func() { p.release(a); p.release(b) }, 8, "both stopped: the embedder's 8 stands"},
		{func() { p.claim(a, 3); procs = 1 }, 1, "booted, and the embedder set GOMAXPROCS to 1"},
		{func() { p.claim(b, 5) }, 5, "another booted: its claim is applied"},
		{func() { p.release(b) }, 3, "it stopped: the running one still gets its 3"},
		{func() { p.release(a) }, 1, "the last stopped: the embedder's 1, not the 8 from before"},
	}
	for _, s := range steps {
		s.do()
		if procs != s.want {
			t.Errorf("%s: GOMAXPROCS %d, want %d", s.what, procs, s.want)
		}
	}
}
