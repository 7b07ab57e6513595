package sched

import (
	"container/heap"
	"math/rand/v2"
)

// The multi-core simulator: N cores, each with its own RunQueue, driven by
// fake time; cores talk only by messages that arrive after a delay, as in
// the kernel (summaries each tick, steal requests and replies, pushes and
// wake-ups carrying the entity). A core handles its messages at its switch
// points: at the end of each run, and at least once per tick while it runs
// (the preemption hook's check), or as soon as one arrives while it is idle.
// A core of capacity c does c/1024 of a full core's work per unit of time.

type simConfig struct {
	caps        []int64  // capacity per core
	online      []Time   // when each core is brought into use (nil: all at 0)
	tick        Duration // summary broadcast and longest run between switch points
	balance     Duration // how often a busy core runs Decide
	delay       Duration // message delay between cores
	duration    Duration // simulated time
	window      [2]Time  // shares are measured over [window[0], window[1]); zero: whole run
	slice       Duration // run queue slice (0: default)
	seed        uint64   // for workloads that draw random numbers
	rotateAhead Duration
	noPlace     bool // wake-ups and spawns are queued where they are aimed
	noBalance   bool // no steals, no pushes: the negative control
	// expect: for this long after its last run, a core with nothing
	// runnable counts the entities that went to sleep from it as expected
	// back (LoadSummary.Expecting), as the kernel does for SIPs waiting
	// for a service; 0: never.
	expect Duration
	spawn  []spawnSpec
	// spawner, if set, is called at each of its returned times to spawn more.
	spawner func(s *sim, now Time) (next Time)
}

type spawnSpec struct {
	nice   int
	at     Time
	core   CoreID   // where it is spawned, and woken if wakeTo
	run    Duration // work per burst; 0: CPU-bound
	sleep  Duration // sleep between bursts
	total  Duration // work until exit; 0: never exits
	wakeTo bool     // wake-ups are aimed at core, not where it last ran
	tag    string
	group  string // a group (group.go) of nice 0, "" for none
}

type simEntity struct {
	Entity
	spec      spawnSpec
	core      CoreID // last core it was queued on
	burstLeft Duration
	work      Duration // total work received
	winStart  Duration // work at window start
	exited    bool
	sleeping  bool
	wakes     int
	migr      int
	sleptOn   *simCore // the core it went to sleep from, expecting it back
	sleptW    int64    // its weight then
}

type msgKind uint8

const (
	msgSummary msgKind = iota
	msgStealReq
	msgStealNack
	msgMigrate // carries an entity (push, steal reply, or placed wake-up)
	msgWake    // an entity wakes up or is spawned; the receiver places it
)

type message struct {
	kind msgKind
	from CoreID
	sum  LoadSummary
	e    *simEntity
}

type simCore struct {
	id        CoreID
	cap       int64
	online    bool
	q         *RunQueue
	cur       *simEntity
	runStart  Time
	gen       int // invalidates scheduled switch events
	scheduled bool
	inbox     []message
	bal       *Balancer // the balancer the kernel runs (balancer.go)
	wasIdle   bool
	lastRun   Time  // when its last run ended
	expectW   int64 // weight of the entities that went to sleep from it
}

type event struct {
	at   Time
	seq  int
	kind int // 0 switch, 1 deliver, 2 wake entity, 3 online, 4 spawner
	core CoreID
	gen  int
	msg  message
	e    *simEntity
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type sim struct {
	cfg     simConfig
	now     Time
	cores   []*simCore
	events  eventHeap
	seq     int
	ents    []*simEntity
	checker *Checker
	rng     *rand.Rand
	msgs    int
	steals  int
	pushes  int
	nextID  uint64
	byID    map[uint64]*simEntity
	// groupLoad: each group's runnable members' own weights, machine-wide
	// and exact (the kernel keeps it in an atomic).
	groupLoad map[string]int64
}

// share gives e its group share (group.go), at once if it is queued on c;
// entities in no group keep their nice's weight.
func (s *sim) share(c *simCore, e *simEntity) {
	if e.spec.group == "" {
		return
	}
	sh := GroupShare(NiceZeroWeight, NiceToWeight(e.spec.nice), s.groupLoad[e.spec.group])
	if c != nil {
		c.q.Reweigh(&e.Entity, sh)
	} else {
		e.Share = sh
	}
}

// reshare refreshes the shares of every entity queued on c, as the kernel
// does each balancing tick.
func (s *sim) reshare(c *simCore) {
	for _, x := range c.q.Entities(nil) {
		s.share(c, s.byID[x.ID])
	}
}

// runnable counts e in (or out of) its group's load.
func (s *sim) runnable(e *simEntity, yes bool) {
	if e.spec.group == "" {
		return
	}
	w := NiceToWeight(e.spec.nice)
	if !yes {
		w = -w
	}
	s.groupLoad[e.spec.group] += w
}

func newSim(cfg simConfig) *sim {
	if cfg.tick == 0 {
		cfg.tick = Millisecond
	}
	if cfg.balance == 0 {
		cfg.balance = 4 * Millisecond
	}
	if cfg.delay == 0 {
		cfg.delay = 50 * Microsecond
	}
	if cfg.window == [2]Time{} {
		cfg.window = [2]Time{0, Time(cfg.duration)}
	}
	s := &sim{cfg: cfg, checker: NewChecker(0), rng: rand.New(rand.NewPCG(cfg.seed, 1)), byID: map[uint64]*simEntity{}, groupLoad: map[string]int64{}}
	bcfg := BalanceConfig{Tick: cfg.tick, PushEvery: cfg.balance, RotateAhead: cfg.rotateAhead}
	for i, c := range cfg.caps {
		var peers []CoreID
		for j := range cfg.caps {
			if j != i {
				peers = append(peers, CoreID(j))
			}
		}
		core := &simCore{id: CoreID(i), cap: c, q: NewRunQueue(Config{Slice: cfg.slice}),
			bal: NewBalancer(CoreID(i), len(cfg.caps), peers, bcfg)}
		s.cores = append(s.cores, core)
		at := Time(0)
		if cfg.online != nil {
			at = cfg.online[i]
		}
		s.push(event{at: at, kind: 3, core: CoreID(i)})
	}
	for _, sp := range cfg.spawn {
		s.spawnAt(sp)
	}
	if cfg.spawner != nil {
		s.push(event{at: 0, kind: 4})
	}
	return s
}

func (s *sim) push(ev event) {
	s.seq++
	ev.seq = s.seq
	heap.Push(&s.events, ev)
}

func (s *sim) spawnAt(sp spawnSpec) *simEntity {
	s.nextID++
	e := &simEntity{Entity: Entity{ID: s.nextID, Nice: sp.nice}, spec: sp, core: sp.core, burstLeft: sp.run}
	s.ents = append(s.ents, e)
	s.byID[e.ID] = e
	s.push(event{at: sp.at, kind: 2, core: sp.core, e: e})
	return e
}

func (s *sim) send(from, to CoreID, m message) {
	m.from = from
	s.msgs++
	s.push(event{at: s.now + Time(s.cfg.delay), kind: 1, core: to, msg: m})
}

func (s *sim) run() {
	end := Time(s.cfg.duration)
	for s.events.Len() > 0 {
		ev := heap.Pop(&s.events).(event)
		if ev.at > end {
			break
		}
		if s.now < s.cfg.window[0] && ev.at >= s.cfg.window[0] {
			s.now = s.cfg.window[0]
			s.account(s.cfg.window[0])
			for _, e := range s.ents {
				e.winStart = e.work
			}
		}
		s.now = ev.at
		c := s.cores[ev.core]
		switch ev.kind {
		case 0:
			if ev.gen != c.gen {
				continue
			}
			c.scheduled = false
			s.switchPoint(c)
		case 1:
			c.inbox = append(c.inbox, ev.msg)
			if c.online && c.cur == nil && !c.scheduled {
				s.switchPoint(c)
			}
		case 2:
			// A wake-up or spawn: delivered as a message to the core.
			e := ev.e
			e.sleeping = false
			if e.sleptOn != nil {
				e.sleptOn.expectW -= e.sleptW
				e.sleptOn = nil
			}
			s.runnable(e, true)
			target := e.core
			if e.spec.wakeTo {
				target = e.spec.core
			}
			e.wakes++
			s.cores[target].inbox = append(s.cores[target].inbox, message{kind: msgWake, from: target, e: e})
			if tc := s.cores[target]; tc.online && tc.cur == nil && !tc.scheduled {
				s.switchPoint(tc)
			}
		case 3:
			c.online = true
			s.switchPoint(c)
		case 4:
			if next := s.cfg.spawner(s, s.now); next > s.now {
				s.push(event{at: next, kind: 4})
			}
		}
	}
	s.now = end
	s.account(end)
	s.checker.Advance(end)
}

// account charges the running entities up to t (without a switch), so that
// work is measured exactly at window edges.
func (s *sim) account(t Time) {
	for _, c := range s.cores {
		if c.cur != nil && t > c.runStart {
			w := Duration(int64(t-c.runStart) * c.cap / FullCapacity)
			c.cur.work += w
			c.cur.burstLeft -= w
			c.q.Charge(&c.cur.Entity, w)
			c.runStart = t
		}
	}
}

func (s *sim) summary(c *simCore) LoadSummary {
	sum := c.q.Summary(c.id, c.cap, s.now)
	if c.q.Len() == 0 && c.expectW > 0 && s.now-c.lastRun < Time(s.cfg.expect) {
		sum.Expecting = c.expectW
	}
	return sum
}

func (s *sim) switchPoint(c *simCore) {
	now := s.now
	// 1. Charge the entity that ran, and let it block or exit.
	if e := c.cur; e != nil {
		s.account(now)
		c.cur = nil
		c.lastRun = now
		switch {
		case e.spec.total > 0 && e.work >= e.spec.total:
			c.q.Dequeue(&e.Entity)
			s.runnable(e, false)
			e.exited = true
		case e.spec.run > 0 && e.burstLeft <= 0:
			e.sleptOn, e.sleptW = c, e.Weight()
			c.expectW += e.sleptW
			c.q.Dequeue(&e.Entity)
			s.runnable(e, false)
			e.sleeping = true
			e.burstLeft = e.spec.run
			s.push(event{at: now + Time(e.spec.sleep), kind: 2, core: c.id, e: e})
		}
	}
	// 2. Messages.
	for len(c.inbox) > 0 {
		m := c.inbox[0]
		c.inbox = c.inbox[1:]
		s.handle(c, m)
	}
	// 3. Ticks, idleness: the balancer says what to send and move.
	idle := c.q.Len() == 0
	if c.bal.Due(now) || idle {
		s.reshare(c)
	}
	if c.bal.Due(now) {
		c.bal.Tick(now, c.q, s.summary(c))
		s.perform(c)
	}
	if idle && !c.wasIdle {
		// The simulated core sleeps as soon as it is idle.
		c.bal.Idle(now, c.q, s.summary(c))
		c.bal.Sleeping(now, c.q, s.summary(c))
		s.perform(c)
	}
	c.wasIdle = idle
	// 4. Pick, or stay idle.
	e := c.q.Pick()
	if e == nil {
		s.checker.Observe(c.id, now, true, 0)
		return
	}
	c.bal.Ran()
	s.checker.Observe(c.id, now, false, c.q.Len()-1)
	se := s.byID[e.ID]
	c.cur = se
	c.runStart = now
	work := c.q.SliceLeft(e)
	if se.spec.run > 0 {
		work = min(work, se.burstLeft)
	}
	if se.spec.total > 0 {
		work = min(work, se.spec.total-se.work)
	}
	wall := (int64(work)*FullCapacity + c.cap - 1) / c.cap
	until := min(now+Time(max(wall, 1)), c.bal.NextTick())
	if until <= now {
		until = now + Time(s.cfg.tick)
	}
	c.gen++
	c.scheduled = true
	s.push(event{at: until, kind: 0, core: c.id, gen: c.gen})
}

// handle is a core's handling of one message at a switch point.
func (s *sim) handle(c *simCore, m message) {
	switch m.kind {
	case msgSummary:
		c.bal.Summary(m.sum)
	case msgMigrate:
		e := m.e
		c.bal.Arrived(m.from)
		if e.core != c.id {
			e.migr++
		}
		e.core = c.id
		s.share(nil, e)
		c.q.Enqueue(&e.Entity)
	case msgWake:
		e := m.e
		to := c.id
		s.share(nil, e)
		if !s.cfg.noPlace {
			to = c.bal.Place(s.now, e.queueWeight(), e.core, s.summary(c))
		}
		if to == c.id {
			if e.core != c.id {
				e.migr++
			}
			e.core = c.id
			c.q.Enqueue(&e.Entity)
			return
		}
		s.send(c.id, to, message{kind: msgMigrate, e: e})
	case msgStealReq:
		c.bal.StealRequest(c.q, s.summary(c), m.sum)
		s.perform(c)
	case msgStealNack:
		c.bal.Refused(m.sum)
	}
}

// perform does what c's balancer asks, as the kernel's shell does with
// urpc messages. Without balancing (the negative control) steals and
// pushes are dropped.
func (s *sim) perform(c *simCore) {
	rd := c.bal.Ready()
	if rd.Broadcast {
		for _, p := range c.bal.Peers() {
			if s.cores[p].online {
				s.send(c.id, p, message{kind: msgSummary, sum: rd.Summary})
			}
		}
	}
	for _, m := range rd.Refusals {
		s.send(c.id, m.To, message{kind: msgStealNack, sum: m.Summary})
	}
	for _, m := range rd.Steals {
		if !s.cfg.noBalance {
			s.send(c.id, m.To, message{kind: msgStealReq, sum: m.Summary})
		}
	}
	for _, mg := range rd.Migrations {
		if s.cfg.noBalance && mg.Why == Push {
			continue
		}
		e := s.byID[mg.Entity.ID]
		c.q.Migrate(mg.Entity)
		if mg.Why == Steal {
			s.steals++
		} else {
			s.pushes++
		}
		s.send(c.id, mg.To, message{kind: msgMigrate, e: e})
	}
	c.bal.Advance()
}

// fairShares returns each entity's weight-fair share of the window's total
// capacity, water-filled: no entity can use more than the fastest core.
func fairShares(weights []int64, caps []int64) []float64 {
	var capTotal, capMax float64
	for _, c := range caps {
		capTotal += float64(c)
		capMax = max(capMax, float64(c))
	}
	share := make([]float64, len(weights))
	capped := make([]bool, len(weights))
	for {
		var W float64
		for i, w := range weights {
			if !capped[i] {
				W += float64(w)
			}
		}
		left := capTotal
		for i := range weights {
			if capped[i] {
				left -= capMax
			}
		}
		changed := false
		for i, w := range weights {
			if !capped[i] {
				share[i] = float64(w) / W * left
				if share[i] > capMax {
					share[i], capped[i], changed = capMax, true, true
				}
			}
		}
		if !changed {
			return share
		}
	}
}
