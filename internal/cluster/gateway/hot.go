package gateway

// The gateway polls the links itself (link.Node.Poll) for a window after
// its last frame in or out, staying runnable, rather than block and leave
// the reading to the links' reader goroutines: a reader waits until the Go
// runtime notices its socket, which it does only when one of its processors
// goes idle, and a core that spins for a message keeps its processor busy.
// The window adapts as the cores' poll window does (internal/kernel,
// pollwin.go; KVM's halt polling): a frame that came soon after the gateway
// stopped polling, within the longest window, would have been met by a
// longer one, so the window doubles; a silence longer than that would have
// been polled for nothing, so it halves. A fixed window is not enough: once
// a round trip outlasts it (one stall of a shared machine), both gateways
// stop polling, every frame then waits for a reader, and each round
// outlasts the window again. The longest window must outlast that slow
// path, whose frames wait out a core's poll window (up to 1 ms) before a
// reader runs: with 1 ms, the gateways stayed in it (1.5% of the frames
// polled, 1.8 ms a round); with 5 ms they leave it within a few rounds.

// hotWindow is the gateway's adaptive poll window, in nanoseconds. Owned by
// the gateway's SIP.
type hotWindow struct {
	window   int64 // current window
	until    int64 // poll until then; 0: not polling
	coldAt   int64 // when polling last stopped; 0: never
	min, max int64
}

func newHotWindow(min, max int64) hotWindow {
	return hotWindow{window: min, min: min, max: max}
}

// active records a frame in or out at now: the gateway polls for a window
// from now, grown first if the frame came soon after polling stopped.
func (w *hotWindow) active(now int64) {
	if w.until == 0 && w.coldAt > 0 {
		if now-w.coldAt <= w.max {
			w.window = min(w.window*2, w.max)
		} else {
			w.window = max(w.window/2, w.min)
		}
	}
	w.until = now + w.window
}

// polling reports whether the gateway should poll at now; past its window
// it stops, and reports false until the next frame.
func (w *hotWindow) polling(now int64) bool {
	if w.until == 0 {
		return false
	}
	if now < w.until {
		return true
	}
	w.until, w.coldAt = 0, now
	return false
}
