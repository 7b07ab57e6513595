package sched

// DefaultWastedBound is the no-wasted-cores checker's default bound.
const DefaultWastedBound = 10 * Millisecond

// DefaultMaxIntervals is how many violation intervals a Checker keeps.
const DefaultMaxIntervals = 64

// Interval is one violation of the no-wasted-cores invariant: core Idle had
// nothing runnable from Start to End while core Busy had entities waiting
// for that whole time, and End − Start > the bound. End is the time the
// violation was detected, moved forward until it ended.
type Interval struct {
	Idle, Busy CoreID
	Start, End Time
}

// Checker is the no-wasted-cores invariant (Lozi et al., "The Linux
// Scheduler: a Decade of Wasted Cores", EuroSys 2016) as a pure online
// detector. It is fed with per-core observations in non-decreasing time
// order (an observation earlier than the latest one is taken as made at the
// latest one): from time at on, core c is idle (nothing runnable) or runs
// with waiting entities waiting for it. A core never observed counts as
// neither idle nor with work waiting.
//
// It counts every idle period of a core during which, for longer than the
// bound, the core stayed idle the whole time while one other core had
// entities waiting the whole time: one violation per such idle period, its
// interval being the longest such overlap found when it is detected.
//
// Where the observations come from is the caller's choice: the kernel can
// feed it from the load summaries a core receives (approximate, delayed by a
// message), a simulation from exact events. Observe allocates only when a
// core is first seen or a violation is recorded.
type Checker struct {
	bound   Duration
	maxKept int
	now     Time
	cores   []coreState
	count   int
	kept    []Interval
	// A kernel runs one Checker per core, made one after another, and
	// writes it on every change of state: padded to whole cache lines
	// (128 bytes), so that two cores' checkers never share one.
	_ [48]byte
}

type coreState struct {
	known    bool
	idle     bool
	since    Time // start of the current idle or waiting run
	waiting  bool
	counted  bool // this idle run was counted
	open     int  // index in kept of this idle run's interval, or -1
	openBusy CoreID
	_        [24]byte // to 64 bytes: an array of them fills whole lines
}

// NewChecker returns a checker with the given bound (≤ 0 means
// DefaultWastedBound) keeping at most DefaultMaxIntervals intervals.
func NewChecker(bound Duration) *Checker {
	if bound <= 0 {
		bound = DefaultWastedBound
	}
	return &Checker{bound: bound, maxKept: DefaultMaxIntervals}
}

// Bound returns the checker's bound.
func (c *Checker) Bound() Duration { return c.bound }

// Count returns how many violations were detected so far.
func (c *Checker) Count() int { return c.count }

// Intervals returns the first violations detected (at most
// DefaultMaxIntervals). The slice is the checker's: read it, do not keep it
// across calls.
func (c *Checker) Intervals() []Interval { return c.kept }

// Observe records that from at on, core is idle (waiting is then ignored)
// or busy with waiting entities waiting.
func (c *Checker) Observe(core CoreID, at Time, idle bool, waiting int) {
	if core < 0 {
		panic("sched: Checker.Observe of a negative core")
	}
	c.Advance(at)
	at = c.now
	for int(core) >= len(c.cores) {
		c.cores = append(c.cores, coreState{open: -1})
	}
	s := &c.cores[core]
	hasWork := !idle && waiting > 0
	if s.known && s.idle == idle && s.waiting == hasWork {
		return // no change
	}
	// The runs that end now close the intervals that were open on them.
	if s.known && s.idle && !idle {
		c.close(core, at)
		s.counted = false
	}
	if s.known && s.waiting && !hasWork {
		for i := range c.cores {
			if o := &c.cores[i]; o.open >= 0 && o.openBusy == core {
				c.close(CoreID(i), at)
			}
		}
	}
	s.known, s.idle, s.waiting, s.since = true, idle, hasWork, at
}

// ObserveSummary records a core's state from its load summary, as a kernel
// can from the summaries it receives: idle when nothing is runnable,
// otherwise Runnable − 1 entities waiting (one runs). Summaries of cores not
// in use are ignored.
func (c *Checker) ObserveSummary(s LoadSummary) {
	if s.Capacity <= 0 {
		return
	}
	c.Observe(s.Core, s.At, s.Runnable == 0, max(s.Runnable-1, 0))
}

// close ends the open interval of idle core i at t.
func (c *Checker) close(i CoreID, t Time) {
	s := &c.cores[i]
	if s.open >= 0 {
		c.kept[s.open].End = t
	}
	s.open = -1
}

// Advance moves the checker's time to at, detecting the violations that
// have lasted longer than the bound by then; Observe calls it. A kernel
// calls it at each tick so that a core idle forever is still reported.
func (c *Checker) Advance(at Time) {
	if at < c.now {
		at = c.now
	}
	c.now = at
	// The two cores with work waiting the longest, so that each idle
	// core finds its partner in O(1).
	first, second := -1, -1
	for i := range c.cores {
		s := &c.cores[i]
		if !s.known || !s.waiting {
			continue
		}
		if first < 0 || s.since < c.cores[first].since {
			first, second = i, first
		} else if second < 0 || s.since < c.cores[second].since {
			second = i
		}
	}
	for i := range c.cores {
		s := &c.cores[i]
		if !s.known || !s.idle {
			continue
		}
		if s.open >= 0 {
			c.kept[s.open].End = at
			continue
		}
		if s.counted {
			continue
		}
		j := first
		if j == i {
			j = second
		}
		if j < 0 {
			continue
		}
		start := max(s.since, c.cores[j].since)
		if Duration(at-start) <= c.bound {
			continue
		}
		c.count++
		s.counted = true
		if len(c.kept) < c.maxKept {
			c.kept = append(c.kept, Interval{Idle: CoreID(i), Busy: CoreID(j), Start: start, End: at})
			s.open, s.openBusy = len(c.kept)-1, CoreID(j)
		}
	}
}
