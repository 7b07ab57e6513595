package kernel

import "testing"

// TestPollWindowAdapts: short sleeps ended by a message double the window
// up to its bound; long sleeps halve it back to the base; timer wake-ups
// change nothing.
func TestPollWindowAdapts(t *testing.T) {
	w := newPollWindow(50, 1000)
	steps := []struct {
		d    int64
		rung bool
		want int64
	}{
		{10, true, 100},
		{10, false, 100}, // a timer: nothing learnt
		{900, true, 200},
		{1000, true, 400},
		{5, true, 800},
		{5, true, 1000}, // bounded
		{5, true, 1000},
		{1001, true, 500}, // longer than any window: polling was wasted
		{1e9, false, 250},
		{1e9, true, 125},
		{1e9, true, 62},
		{1e9, true, 50}, // never below the base
		{1e9, true, 50},
	}
	for i, s := range steps {
		w.slept(s.d, s.rung)
		if w.window != s.want {
			t.Fatalf("step %d (slept %d, rung %v): window %d, want %d", i, s.d, s.rung, w.window, s.want)
		}
	}
	fixed := newPollWindow(50, 50)
	fixed.slept(10, true)
	if fixed.window != 50 {
		t.Errorf("a fixed window moved to %d", fixed.window)
	}
}
