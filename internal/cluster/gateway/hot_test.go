package gateway

import "testing"

// TestHotWindow: the window doubles when a frame comes soon after polling
// stopped (within the longest window), halves after a longer silence, stays
// within its bounds, and polling lasts a window from the last frame.
func TestHotWindow(t *testing.T) {
	w := newHotWindow(100, 800)
	if w.polling(0) {
		t.Fatal("polling before any frame")
	}
	w.active(1000)
	steps := []struct {
		now     int64
		polling bool
		window  int64
	}{
		{1050, true, 100},
		{1100, false, 100}, // a window after the frame: stops
		{1100, false, 100},
	}
	for _, s := range steps {
		if got := w.polling(s.now); got != s.polling || w.window != s.window {
			t.Fatalf("at %d: polling %v, window %d; want %v, %d", s.now, got, w.window, s.polling, s.window)
		}
	}
	// A frame 300 ns after polling stopped: a longer window would have met it.
	for i, want := range []int64{200, 400, 800, 800} {
		stop := w.until
		w.polling(stop)
		w.active(stop + 300)
		if w.window != want {
			t.Fatalf("soon-after frame %d: window %d, want %d", i, w.window, want)
		}
	}
	// A silence longer than the longest window halves it.
	for i, want := range []int64{400, 200, 100, 100} {
		stop := w.until
		w.polling(stop)
		w.active(stop + 801)
		if w.window != want {
			t.Fatalf("after silence %d: window %d, want %d", i, w.window, want)
		}
	}
	// Frames while polling extend it by a window, without changing it.
	w.active(w.until - 10)
	if until := w.until; !w.polling(until-1) || w.window != 100 {
		t.Fatalf("a frame while polling: until %d, window %d", until, w.window)
	}
}
