package sched

// Balancer is one core's balancing state machine, in the manner of etcd's
// raft: the caller feeds it inputs (Tick, Idle, Sleeping, Ran, Summary,
// StealRequest, Refused, Arrived, Place) and performs what Ready returns
// (summaries to send to the peers, a steal request, refusals, migrations),
// then calls Advance. It does no I/O, reads no clock and never changes the
// run queue it is shown: the kernel's core loop (internal/kernel/balance.go)
// and the multi-core simulator (sim_test.go) are its two drivers, so the
// policy the simulations check is the one that runs.
//
// The rules it applies are Decide's, Choose's and Place's (balance.go); what
// it adds is state over time:
//
//   - when to speak: a summary every Tick, and at once when the core goes
//     idle (at most once a Tick, unless the last summary said it expected
//     entities back and it no longer does), and before the core sleeps if
//     it has run since it last said it was idle;
//   - when to look: an idle core looks for work at every summary it
//     receives (Due is then true), not only at its own ticks;
//   - one steal at a time: a steal request is pending until the victim
//     answers (an entity arrives from it, or a refusal) or MaxAge passes;
//     a victim that refused is not asked again until its next summary;
//   - steal refusal: a victim with nothing worth giving (its state changed
//     since the summary the thief acted on) answers with its fresh summary,
//     which replaces the thief's stale copy;
//   - optimistic accounting: a core that pushes, gives on a steal or places
//     an entity on another core counts it in its copy of that core's
//     summary until the next one arrives, so that decisions made on one
//     stale view do not all pick the same core.
//
// Ownership: a Balancer belongs to one core and is used by it alone.
type Balancer struct {
	cfg   BalanceConfig
	self  CoreID
	peers []CoreID
	seen  []LoadSummary // latest summary of each core; Capacity 0 until one comes
	// refused: the core refused this one's last steal request; it is not
	// asked again until its next summary
	refused []bool
	others  []LoadSummary // scratch for Decide and Place

	nextTick, nextPush Time
	// idle: the last local summary given had nothing runnable, and the
	// core has not run since
	idle bool
	look bool // a summary came while idle: look for work at the next Tick
	// announced: the last summary sent says idle, and nothing ran since
	announced bool
	idleSent  bool // the core has announced idleness at least once
	idleAt    Time // when it last did
	sent      LoadSummary
	hasSent   bool

	stealing bool // a steal request is pending
	stealTo  CoreID
	stealAt  Time

	ready Ready
}

// Ready is what a Balancer asks its caller to do. Its slices belong to the
// Balancer and are valid until Advance.
type Ready struct {
	// Broadcast: send Summary to every peer (Balancer.Peers).
	Broadcast bool
	Summary   LoadSummary
	// Steals: steal requests to send, each carrying this core's summary.
	Steals []Message
	// Refusals: answers to steal requests that gave nothing, each carrying
	// this core's fresh summary.
	Refusals []Message
	// Migrations: entities of the core's run queue to take out of it
	// (RunQueue.Migrate) and give to another core.
	Migrations []Migration
}

// Message is a summary for one core.
type Message struct {
	To      CoreID
	Summary LoadSummary
}

// Migration is an entity to move, and why.
type Migration struct {
	Entity *Entity
	To     CoreID
	Why    Action // Push, or Steal when it answers a steal request
}

// Empty reports whether there is nothing to do.
func (r Ready) Empty() bool {
	return !r.Broadcast && len(r.Steals) == 0 && len(r.Refusals) == 0 && len(r.Migrations) == 0
}

// NewBalancer returns the balancer of core self on a machine of n cores,
// which balances with peers (the cores it sends its summaries to).
func NewBalancer(self CoreID, n int, peers []CoreID, cfg BalanceConfig) *Balancer {
	return &Balancer{
		cfg: cfg, self: self, peers: peers,
		seen: make([]LoadSummary, n), refused: make([]bool, n),
		others: make([]LoadSummary, 0, len(peers)),
	}
}

// Peers returns the cores a broadcast goes to.
func (b *Balancer) Peers() []CoreID { return b.peers }

// Seen returns the latest summary known of core c (its Capacity is 0 if
// none came), with what this core has given it since counted in.
func (b *Balancer) Seen(c CoreID) LoadSummary {
	if c < 0 || int(c) >= len(b.seen) {
		return LoadSummary{}
	}
	return b.seen[c]
}

// Sent returns the last summary broadcast, and whether there was one.
func (b *Balancer) Sent() (LoadSummary, bool) { return b.sent, b.hasSent }

// Stealing reports whether a steal request is pending.
func (b *Balancer) Stealing() bool { return b.stealing }

// NextTick returns when the next periodic Tick is due.
func (b *Balancer) NextTick() Time { return b.nextTick }

// Due reports whether the caller should call Tick now: a tick is due, or a
// summary came while the core was idle.
func (b *Balancer) Due(now Time) bool { return now >= b.nextTick || b.look }

// Ready returns what the caller must do; then it calls Advance.
func (b *Balancer) Ready() Ready { return b.ready }

// Advance tells the balancer that its Ready was done.
func (b *Balancer) Advance() {
	b.ready.Broadcast = false
	b.ready.Summary = LoadSummary{}
	b.ready.Steals = b.ready.Steals[:0]
	b.ready.Refusals = b.ready.Refusals[:0]
	clear(b.ready.Migrations)
	b.ready.Migrations = b.ready.Migrations[:0]
}

// Tick is called when Due: self is the core's fresh summary, q its run
// queue. A tick that is due broadcasts self; a push is considered every
// PushEvery; an idle core looks for work.
func (b *Balancer) Tick(now Time, q *RunQueue, self LoadSummary) {
	b.look = false
	if now >= b.nextTick {
		b.nextTick = now + Time(b.cfg.tick())
		b.broadcast(self)
	}
	push := now >= b.nextPush
	if push {
		b.nextPush = now + Time(b.cfg.pushEvery())
	}
	b.decide(now, q, self, push)
}

// Idle is called when the core runs out of work: it tells its peers (at
// most once a tick, see the type's comment) and asks for work.
func (b *Balancer) Idle(now Time, q *RunQueue, self LoadSummary) {
	b.idle = true
	expectEnded := b.hasSent && b.sent.Expecting > 0 && self.Expecting == 0
	if b.idleSent && Duration(now-b.idleAt) < b.cfg.tick() && !expectEnded {
		// A core that goes idle and busy every few microseconds (an entity
		// ping-ponging with one on another core) says so once a tick: a
		// summary and a steal at every idle moment cost more than they
		// balance. It still looks at the next summary it receives.
		return
	}
	b.announce(now, q, self)
}

// Sleeping is called before the core sleeps: if it has run since it last
// said it was idle, it says so now, or a busy core would keep its waiting
// entities from a core that sleeps.
func (b *Balancer) Sleeping(now Time, q *RunQueue, self LoadSummary) {
	if !b.announced && self.Runnable == 0 {
		b.announce(now, q, self)
	}
}

func (b *Balancer) announce(now Time, q *RunQueue, self LoadSummary) {
	b.idleSent, b.idleAt = true, now
	b.broadcast(self)
	b.announced = self.Runnable == 0
	b.decide(now, q, self, false)
}

// Ran is called when the core runs an entity.
func (b *Balancer) Ran() { b.idle, b.announced = false, false }

// Summary records a peer's summary. A summary older than the one held, one
// of this core or of no core is ignored.
func (b *Balancer) Summary(s LoadSummary) {
	c := s.Core
	if c < 0 || int(c) >= len(b.seen) || c == b.self {
		return
	}
	if b.seen[c].Capacity > 0 && s.At < b.seen[c].At {
		return
	}
	b.seen[c] = s
	b.refused[c] = false
	if b.idle {
		b.look = true
	}
}

// StealRequest answers the idle core whose summary is thief: with an
// entity of q (a Migration), or with a refusal carrying self. q nil means
// the core has nothing it can give now.
func (b *Balancer) StealRequest(q *RunQueue, self, thief LoadSummary) {
	b.Summary(thief)
	if e := Choose(q, self, thief, b.cfg); e != nil {
		b.give(e, thief.Core, Steal)
		return
	}
	b.ready.Refusals = append(b.ready.Refusals, Message{To: thief.Core, Summary: self})
}

// Refused records a victim's refusal and its fresh summary s.
func (b *Balancer) Refused(s LoadSummary) {
	if b.stealing && b.stealTo == s.Core {
		b.stealing = false
	}
	b.Summary(s)
	if s.Core >= 0 && int(s.Core) < len(b.refused) {
		b.refused[s.Core] = true
	}
}

// Arrived records that an entity came from core from: if it answers the
// pending steal, the steal is over.
func (b *Balancer) Arrived(from CoreID) {
	if b.stealing && b.stealTo == from {
		b.stealing = false
	}
}

// Place returns the core a waking or new entity of weight w should be
// queued on (Place, balance.go), self being this core's fresh summary and
// prev where the entity last ran. If it is another core, the entity is
// counted in this core's copy of that core's summary.
func (b *Balancer) Place(now Time, w int64, prev CoreID, self LoadSummary) CoreID {
	to := Place(w, prev, self, b.peerSummaries(false), now, b.cfg)
	if to != self.Core {
		b.count(to, w)
	}
	return to
}

// decide acts on Decide: a steal request, or (if push) a push of the entity
// Choose finds.
func (b *Balancer) decide(now Time, q *RunQueue, self LoadSummary, push bool) {
	b.idle = self.Runnable == 0
	if b.stealing && Duration(now-b.stealAt) > b.maxAge() {
		b.stealing = false // unanswered: a lost cause, not a lock
	}
	if self.Runnable == 0 && b.stealing || self.Runnable > 0 && !push {
		return
	}
	d := Decide(self, b.peerSummaries(self.Runnable == 0), now, b.cfg)
	switch d.Action {
	case Steal:
		b.stealing, b.stealTo, b.stealAt = true, d.Target, now
		b.ready.Steals = append(b.ready.Steals, Message{To: d.Target, Summary: self})
	case Push:
		if e := Choose(q, self, b.seen[d.Target], b.cfg); e != nil {
			b.give(e, d.Target, Push)
		}
	}
}

// maxAge is how long a steal request may stay unanswered.
func (b *Balancer) maxAge() Duration {
	if b.cfg.MaxAge <= 0 {
		return DefaultMaxAge
	}
	return b.cfg.MaxAge
}

// give asks for e to move to core to, and counts it there.
func (b *Balancer) give(e *Entity, to CoreID, why Action) {
	b.ready.Migrations = append(b.ready.Migrations, Migration{Entity: e, To: to, Why: why})
	b.count(to, e.Weight())
}

// count adds an entity of weight w to this core's copy of core c's summary
// (optimistic accounting), until c's next summary.
func (b *Balancer) count(c CoreID, w int64) {
	if c >= 0 && int(c) < len(b.seen) {
		b.seen[c].Weight += w
		b.seen[c].Runnable++
	}
}

// peerSummaries returns the summaries of the peers heard from, without
// those that refused a steal since their last summary if forSteal.
func (b *Balancer) peerSummaries(forSteal bool) []LoadSummary {
	b.others = b.others[:0]
	for _, p := range b.peers {
		if b.seen[p].Capacity > 0 && !(forSteal && b.refused[p]) {
			b.others = append(b.others, b.seen[p])
		}
	}
	return b.others
}

func (b *Balancer) broadcast(self LoadSummary) {
	b.ready.Broadcast, b.ready.Summary = true, self
	b.sent, b.hasSent = self, true
}
