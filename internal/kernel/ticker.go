package kernel

import "time"

// ticker is a periodic callback of a core (Core.Every).
type ticker struct {
	period int64
	next   int64
	fn     func(now int64) bool
	armed  bool // the callback's last answer: wake the core for the next tick
}

// Every registers fn to run on the core's goroutine about every period. fn
// reports whether it needs the next tick even if the core has nothing else
// to do: a core asleep wakes up for an armed ticker only, so a protocol with
// nothing in flight costs an idle core nothing. Call it from Config.Init or
// from the core's own goroutine.
func (c *Core) Every(period time.Duration, fn func(now int64) bool) {
	p := int64(period)
	if p <= 0 {
		panic("kernel: ticker period must be positive")
	}
	c.tickers = append(c.tickers, &ticker{period: p, next: c.m.Now() + p, fn: fn, armed: true})
}

// runTickers runs the due tickers and reports whether any ran.
func (c *Core) runTickers(now int64) bool {
	ran := false
	for _, t := range c.tickers {
		if now >= t.next {
			t.armed = t.fn(now)
			t.next = now + t.period
			ran = true
		}
	}
	return ran
}

// tickerWake returns when the earliest armed ticker is due.
func (c *Core) tickerWake() (int64, bool) {
	at, ok := int64(0), false
	for _, t := range c.tickers {
		if t.armed && (!ok || t.next < at) {
			at, ok = t.next, true
		}
	}
	return at, ok
}

// Arm asks for the core's tickers to run at their next period even if the
// core sleeps; a Deliverable or host function that starts work for a ticker
// calls it.
func (c *Core) Arm() {
	for _, t := range c.tickers {
		t.armed = true
	}
}
