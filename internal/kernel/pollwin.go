package kernel

// The poll window adapts, as KVM's halt polling does (and Linux's haltpoll
// cpuidle governor in a guest): a core that went to sleep and was woken by
// a message soon after, within the longest window it may poll, would have
// done better to keep polling, so its window doubles; a core that slept
// longer than that would have polled for nothing, so its window halves. On
// a VM whose vCPUs are now and then descheduled for tens of microseconds, a
// fixed 50 µs window put a core to sleep in the middle of a conversation,
// and the futex wake-up that followed cost more than the stall that caused
// it; an idle core still returns to the short window within a few sleeps.
// Sleeps that a timer ended teach nothing: the core knew when it would wake.

// maxPollWindowFactor is the default longest window, in base windows.
const maxPollWindowFactor = 20

// pollWindow is a core's adaptive poll window, in nanoseconds. Core-local.
type pollWindow struct {
	window   int64 // current window
	min, max int64
}

func newPollWindow(min, max int64) pollWindow {
	return pollWindow{window: min, min: min, max: max}
}

// slept adapts the window after a sleep of d ns, ended by the doorbell if
// rung (else by a timer).
func (w *pollWindow) slept(d int64, rung bool) {
	switch {
	case d > w.max:
		w.window = max(w.window/2, w.min)
	case rung:
		w.window = min(w.window*2, w.max)
	}
}
