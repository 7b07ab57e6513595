package kernel

import (
	"container/heap"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"time"

	"isle/internal/sched"
	"isle/internal/trace"
	"isle/internal/urpc"
)

// Kernel message types on urpc rings.
const (
	msgSpawn       uint8 = iota + 1 // controller → core: ref *SIP, a new SIP to own
	msgStop                         // controller → core: end the loop
	msgReply                        // service → core: ref *Request, a completed request
	msgPing                         // core → core: payload [8]byte rounds left; answered by msgPong
	msgPong                         // core → core: the answer
	msgPingStart                    // controller → core: ref *pingRun, start a ping-pong
	msgRequest                      // core → service: ref *Request, a SIP's call
	msgDeliver                      // core → core: ref Deliverable, run on the receiving core
	msgSummary                      // core → core: payload a sched.LoadSummary
	msgSteal                        // core → core: payload the thief's LoadSummary; "give me work"
	msgMigrate                      // core → core: ref *SIP, a runnable SIP and its ownership
	msgDeliverData                  // core → core: ref DataDeliverable, payload its data
	msgForget                       // core → core: ref *SIP, which has ended: drop its forwarding entry
	msgCancel                       // core → service: ref *Request, cut the wait of a killed SIP short
	msgAbandon                      // core → service: ref *Request, a reply its killed SIP never saw
	msgStealNack                    // core → core: payload the victim's fresh LoadSummary; "nothing to give"
)

const fromController = -1 << 20

type inRing struct {
	ring *urpc.Ring
	from int // ≥ 0: a core; fromController; else -1-service
}

// Core is one kernel: a goroutine running the loop below.
//
// Ownership: every field is core-local (touched only by the core's goroutine)
// except bell (rung by producers), live and forwards (read by the
// controller) and the rings' producer/consumer sides as urpc defines them.
// Immutable after Boot: id, m, inbox, toSvc, capacity. in and toCore grow,
// core-locally, as rings between cores are made.
type Core struct {
	id       int
	m        *Machine
	bell     *urpc.Doorbell
	inbox    *urpc.Inbox  // the rings from other cores, made on their first send
	in       []inRing     // the rings polled, in the order of inOrder
	toCore   []*urpc.Ring // toCore[j]: this core → core j, once made (coreRing)
	toSvc    []*urpc.Ring // toSvc[s]: this core → service s
	capacity int64        // 1024 = a full core

	owned   map[*SIP]struct{} // every SIP this core owns, whatever its state
	forward map[*SIP]int      // where this core sent the SIPs it gave away and that live on
	held    []heldDelivery    // deliveries for SIPs spawned here whose spawn message has not come yet
	rq      *sched.RunQueue   // runnable SIPs (the running one included)
	scratch []*sched.Entity   // reshareAll's walk over rq
	timers  timerHeap
	pending []pendingSend // sends that found their ring full, in order
	ping    *pingRun
	stopped bool
	tickers []*ticker

	bal balancer

	joined    [urpc.PayloadSize]byte // SendData's parts, joined where one slice is needed
	polling   *SIP                   // the SIP whose Block is polling the rings (poll.go)
	win       pollWindow             // how long to poll before sleeping (pollwin.go)
	svcWaits  int                    // this core's SIPs whose request is with a service
	svcWeight int64                  // the sum of their weights (SIP.waitWeight) when they left the queue
	polled    int64                  // ns polled in the current run: the core's idle time, not the SIP's
	running   *SIP                   // the SIP being resumed, nil between runs (handoff.go)
	under     *SIP                   // the SIP whose direct switch runs the running one (handoff.go)
	woken     *SIP                   // the SIP the running one's last call woke here (handoff.go)
	lazySvcs  uint64                 // services with lazy posts not rung for, by ServiceID (PostLazy)
	lazyN     int                    // lazy posts not rung for

	live     atomic.Int64 // SIPs on this core and not ended: kept by the controller and by migrations
	forwards atomic.Int64 // len(forward), kept by the core for Machine.Census
	stats    CoreStats
	turns    uint64
	cpu      int

	tr tracer // last: the fields above keep the layout they had without it
}

type pendingSend struct {
	ring    *urpc.Ring
	typ     uint8
	ref     any
	payload [urpc.PayloadSize]byte
	n       uint8
}

func newCore(m *Machine, id int) *Core {
	capacity := int64(sched.FullCapacity)
	if id < len(m.cfg.Capacity) && m.cfg.Capacity[id] > 0 {
		capacity = m.cfg.Capacity[id]
	}
	c := &Core{
		id: id, m: m, bell: urpc.NewDoorbellWith(m.barrier), cpu: -1, capacity: capacity,
		stats: CoreStats{Core: id, Capacity: capacity},
		owned: map[*SIP]struct{}{}, forward: map[*SIP]int{},
		rq: sched.NewRunQueue(sched.Config{Slice: sched.Duration(m.cfg.Slice)}),
	}
	c.bal.init(c)
	c.tr.from = uint64(uint32(id))
	if m.cfg.TraceEvents > 0 {
		c.tr.ring.Init(m.cfg.TraceEvents)
	}
	c.win = newPollWindow(int64(m.cfg.PollWindow), int64(m.cfg.MaxPollWindow))
	return c
}

func (c *Core) loop() {
	defer c.m.coresWG.Done()
	c.sampleCPU()
	for _, f := range c.m.cfg.Init {
		f(c)
	}
	// One clock read a turn serves the timers, the balancer, the tickers,
	// the poll window and the getcpu samples: on this VM a clock read is a
	// good part of an idle turn, and getcpu a system call.
	idleSince := int64(-1)
	nextSample := int64(0)
	for !c.stopped {
		c.turns++
		worked := c.drain()
		worked = c.flushPending() || worked
		now := c.m.Now()
		c.traceClock(now)
		if now >= nextSample {
			c.sampleCPU()
			nextSample = now + cpuSamplePeriod
		}
		if len(c.timers) > 0 {
			worked = c.fireTimers(now) || worked
		}
		c.bal.maybeTick(now)
		if len(c.tickers) > 0 {
			c.runTickers(now)
		}
		if c.rq.Len() > 0 && !c.bal.throttled(now) {
			e := c.rq.Pick()
			c.bal.observe(now, false, c.rq.Len()-1)
			c.run(sipOf(e), time.Duration(c.rq.SliceLeft(e)))
			idleSince = -1
			continue
		}
		c.bal.observe(now, c.rq.Len() == 0, c.rq.Len())
		if worked {
			idleSince = -1
			continue
		}
		// Idle (or throttled): poll for a window, then sleep.
		if idleSince < 0 {
			idleSince = now
			c.traceIdle(now)
			c.bal.idle(now)
			continue
		}
		if now-idleSince < c.pollFor() {
			continue
		}
		c.bal.beforeSleep(now)
		c.sleep()
		idleSince = -1
	}
	c.shutdown()
}

// pollFor is how long an idle core polls before it sleeps: its adaptive
// window (pollwin.go), unless the host has no CPU to spare beyond the cores
// (Config.SpareCPUs) and a service's reply is awaited here or elsewhere.
// The reply comes from a service worker, a goroutine that needs a host CPU
// to make it, and a core that polled meanwhile took that CPU from the
// worker (or from whatever else the host runs: a web server's cores spent
// 70% of their time polling for replies that came every 100 µs, while wrk
// and the network worker waited for a CPU). A core whose own SIPs wait
// polls only the base window, which a short host call's reply beats, and
// only while another core is idle (its CPU is free); with none idle it
// sleeps at once. A core that owns no SIP at all has no conversation to
// keep fast: while another core awaits a service it sleeps at once, so
// that it is the idle core whose CPU the worker finds free. A core waiting
// for a channel message from another core polls its whole window: the
// other core has a CPU of its own.
func (c *Core) pollFor() int64 {
	switch {
	case c.m.cfg.SpareCPUs > 0:
		return c.win.window
	case c.svcWaits > 0 && !c.bal.othersIdle():
		return 0
	case c.svcWaits > 0:
		return c.win.min
	case len(c.owned) == 0 && c.bal.othersAwaitService():
		return 0
	}
	return c.win.window
}

// coreRing returns the ring from this core to core j, making it on the
// first send (urpc.Inbox).
func (c *Core) coreRing(j int) *urpc.Ring {
	r := c.toCore[j]
	if r == nil {
		if j == c.id {
			panic("kernel: a core sending to itself")
		}
		r = c.m.cores[j].inbox.Ring(c.id)
		c.toCore[j] = r
	}
	return r
}

// inOrder is the order in which a core polls its rings: other cores by
// index, then services, then the controller.
func (c *Core) inOrder(from int) int {
	switch {
	case from >= 0:
		return from
	case from == fromController:
		return 1 << 30
	default:
		return len(c.m.cores) + (-1 - from)
	}
}

// addIn adds a ring to the polled set, keeping it in inOrder.
func (c *Core) addIn(from int, r *urpc.Ring) {
	i := len(c.in)
	for i > 0 && c.inOrder(c.in[i-1].from) > c.inOrder(from) {
		i--
	}
	c.in = append(c.in, inRing{})
	copy(c.in[i+1:], c.in[i:])
	c.in[i] = inRing{ring: r, from: from}
}

// refreshIn takes the rings that other cores have made to this one since
// the last call into the polled set.
func (c *Core) refreshIn() {
	if c.inbox.Changed() {
		c.inbox.Refresh(c.addIn)
	}
}

// messageWaiting reports whether a message waits in one of the rings the
// core polls. Called by Preempt, on the core's goroutine, while it runs a
// SIP; rings made since the last refresh are seen at the next turn.
func (c *Core) messageWaiting() bool {
	for _, in := range c.in {
		if !in.ring.Empty() {
			return true
		}
	}
	return false
}

// drain takes a bounded batch from every inbound ring.
func (c *Core) drain() bool {
	var msg urpc.View // in place: a slot is read once, where it lies
	worked := false
	c.refreshIn()
	for _, in := range c.in {
		r := in.ring
		for k := 0; k < drainBatch && r.RecvView(&msg); k++ {
			worked = true
			c.stats.MsgsRecv++
			c.m.messages.Inc(c.id)
			c.traceRecv(in.from, msg.Type)
			c.handle(in.from, &msg)
			c.traceHandled()
			if c.polling != nil && !c.polling.blocked {
				// The SIP polling in its Block is woken: let it run
				// now, before the other rings (poll.go).
				r.Release()
				return true
			}
		}
		r.Release()
	}
	return worked
}

func (c *Core) handle(from int, msg *urpc.View) {
	switch msg.Type {
	case msgSpawn:
		s := msg.Ref.(*SIP)
		s.core = c
		c.owned[s] = struct{}{}
		c.stats.SIPs++
		c.traceSpawn(s)
		c.traceWake(s)
		c.enqueue(s)
		c.releaseHeld(s)
	case msgReply:
		req := msg.Ref.(*Request)
		s := req.sip
		if s == nil {
			return // a Post: nobody waits for it
		}
		s.waiting = false
		c.svcWaits--
		c.svcWeight -= s.waitWeight
		if s.killPending {
			// The SIP never sees this reply: the service takes back what
			// it handed over in it (service.go, "Abandon").
			c.send(c.toSvc[s.svc], msgAbandon, nil, s.cur)
			c.Kill(s)
			return
		}
		s.unseen = true
		c.traceReply(s, req)
		c.wakeUp(s)
	case msgDeliver:
		c.deliver(msg.Ref.(Deliverable))
	case msgDeliverData:
		// The slot's own bytes: they stay put until drain releases the
		// ring, after the delivery has taken what it keeps.
		c.deliverData(msg.Ref.(DataDeliverable), msg.Payload())
	case msgSummary:
		c.bal.summary(from, decodeSummary(msg.Payload()))
	case msgSteal:
		c.bal.stealRequest(from, decodeSummary(msg.Payload()))
	case msgStealNack:
		c.bal.stealRefused(from, decodeSummary(msg.Payload()))
	case msgMigrate:
		s := msg.Ref.(*SIP)
		s.core = c
		c.owned[s] = struct{}{}
		if _, back := c.forward[s]; back {
			delete(c.forward, s)
			c.forwards.Store(int64(len(c.forward)))
			s.backOnTrail(c.id)
		}
		c.stats.MigratedIn++
		c.bal.arrived(from)
		c.traceMigrateIn(s, from)
		s.ent.Share = s.share() // still counted in its group: it was runnable all along
		c.rq.Enqueue(&s.ent)
	case msgForget:
		c.forget(msg.Ref.(*SIP))
	case msgStop:
		c.stopped = true
	case msgPingStart:
		c.ping = msg.Ref.(*pingRun)
		c.ping.start = time.Now()
		c.sendCore(c.ping.peer, msgPing, c.ping.rounds)
	case msgPing:
		left := binary.LittleEndian.Uint64(msg.Data[:8])
		c.sendCore(from, msgPong, left)
	case msgPong:
		left := binary.LittleEndian.Uint64(msg.Data[:8]) - 1
		if left == 0 {
			c.ping.elapsed = time.Since(c.ping.start)
			close(c.ping.done)
			c.ping = nil
			return
		}
		c.sendCore(from, msgPing, left)
	default:
		panic("kernel: unknown message type")
	}
}

// wakeUp makes a SIP this core owns runnable after a wait that the kernel
// ended (a service's reply, a timer), on the core that sched.Place chooses
// (docs/scheduler.md, "Placement in the kernel"): here, or a less-loaded core,
// which it is handed to at once. A SIP woken by a channel message (Wake)
// stays here: its waker hands it this core directly (HandOff).
func (c *Core) wakeUp(s *SIP) {
	to := c.bal.place(s)
	c.enqueue(s)
	if to != c.id {
		c.traceMigrate(s, to, trace.Place)
		c.bal.migrate(&s.ent, to)
	}
}

// sendCore sends a small message to another core and rings its doorbell.
func (c *Core) sendCore(to int, typ uint8, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	for !c.coreRing(to).Send(typ, b[:], nil) {
		c.drain() // keep our own inbox moving so the peer can make room
	}
	c.traceSend(c.coreRing(to), typ)
	c.stats.MsgsSent++
}

// send sends a message, queueing it when the ring is full so that the core
// never blocks. Messages to one ring keep their order.
func (c *Core) send(r *urpc.Ring, typ uint8, payload []byte, ref any) {
	if len(c.pending) == 0 && r.Send(typ, payload, ref) {
		c.stats.MsgsSent++
		c.traceSend(r, typ)
		return
	}
	p := pendingSend{ring: r, typ: typ, ref: ref, n: uint8(len(payload))}
	copy(p.payload[:], payload)
	c.pending = append(c.pending, p)
	r.Notify() // a full ring's consumer may be asleep: have it drain
}

func (c *Core) flushPending() bool {
	n := 0
	for n < len(c.pending) {
		p := &c.pending[n]
		if !p.ring.Send(p.typ, p.payload[:p.n], p.ref) {
			p.ring.Notify()
			break
		}
		c.stats.MsgsSent++
		c.traceSend(p.ring, p.typ)
		c.pending[n] = pendingSend{}
		n++
	}
	c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	return n > 0
}

// run resumes one SIP for at most slice, or until it suspends or ends, and
// acts on why. The SIP stays in the run queue while it runs.
func (c *Core) run(s *SIP, slice time.Duration) { c.runFrom(s, slice, c.m.Now()) }

// runFrom is run from machine time start (now); it returns the time the
// SIP stopped running.
func (c *Core) runFrom(s *SIP, slice time.Duration, start int64) int64 {
	s.sliceStart = start
	s.sliceEnd = start + int64(max(slice, minSlice))
	s.unseen = false
	c.running, c.woken = s, nil
	c.traceSwitchIn(s, start)
	reason, done := s.proc.Resume()
	c.running = nil
	if c.lazyN > 0 {
		c.ringLazy()
	}
	c.traceSwitchOut(s, reason, done)
	end := c.m.Now()
	c.charge(s, end-start-c.polled, end)
	c.polled = 0
	c.stats.Switches++
	c.m.switches.Inc(c.id)
	if done {
		c.dequeue(s)
		c.exit(s)
		return end
	}
	c.suspended(s, reason)
	return end
}

// charge charges s for ran ns of its run, which ended (or was accounted
// for, yield.go) at machine time end: its CPU time, its vruntime, the
// core's busy time.
func (c *Core) charge(s *SIP, ran, end int64) {
	s.cpuTime += ran
	s.burst += ran
	s.cpuSeen.Store(s.cpuTime)
	c.stats.Busy += ran
	c.rq.Charge(&s.ent, sched.Duration(ran))
	c.bal.ran(ran, end)
}

// suspended acts on why s, which has just run, suspended.
func (c *Core) suspended(s *SIP, reason uint32) {
	switch reason {
	case suspendYield:
		c.reshare(s)
		c.rq.Yield(&s.ent)
		if s.moveTo != 0 { // MoveTo
			to := s.moveTo - 1
			s.moveTo = 0
			c.traceMigrate(s, to, trace.Move)
			c.bal.migrate(&s.ent, to)
		}
	case suspendPreempt:
		c.stats.Preemptions++
		c.reshare(s)
	case suspendRequeued:
		// A yield served on s's coroutine (yield.go) has already charged
		// it and put it back in the queue.
	case suspendRequest:
		s.waitWeight = s.ent.Weight()
		c.wait(s)
		s.waiting = true
		c.svcWaits++
		c.svcWeight += s.waitWeight
		c.stats.ServiceRequests++
		c.send(c.toSvc[s.svc], msgRequest, nil, s.cur)
	case suspendSleep:
		c.wait(s)
		heap.Push(&c.timers, s)
	case suspendBlock:
		c.wait(s)
		s.blocked = true
		if s.killPending { // killed while its Block polled
			s.killPending = false
			c.Kill(s)
		}
	default:
		panic("kernel: SIP suspended for an unknown reason")
	}
}

// wait takes a SIP that waits (for a reply, a timer, a wake-up) out of the
// run queue, and sizes its next request by how long it ran since it last
// woke (sched.RequestFor): a SIP that runs briefly between waits is picked
// soon after its next wake-up, ahead of SIPs that run their whole slice.
func (c *Core) wait(s *SIP) {
	c.dequeue(s)
	s.ent.Slice = sched.RequestFor(sched.Duration(s.burst), sched.Duration(c.m.cfg.Slice))
	s.burst = 0
}

func (c *Core) exit(s *SIP) {
	s.result = s.proc.Result()
	// From now on a delivery for s that reaches a core which does not know
	// it goes to this one (deliver.go).
	s.ended.Store(int32(c.id) + 1)
	for _, h := range c.m.cfg.OnExit {
		h.OnExit(c, s)
	}
	delete(c.owned, s)
	c.live.Add(-1)
	c.stats.Exits++
	if !c.stopped {
		c.forgetTrail(s)
	}
	// The SIP record may outlive the SIP (its handle in the embedder, the
	// last reference a ring carried): the instance must not (docs/kernel.md).
	s.proc = nil
	close(s.done)
	if s.Parent == nil {
		// The embedder's goroutine waiting in Process.Wait was just made
		// runnable on this core's processor, where it would wait behind the
		// core's own goroutine (polling its rings) until another processor
		// stole it (a thread woken from a futex: 100-500 µs of a spawn's
		// 120-560 µs here) or the core slept. Handing it the processor now
		// runs it at once on this thread, and its next spawn finds the core
		// awake when the core's goroutine runs again.
		runtime.Gosched()
	}
}

func (c *Core) fireTimers(now int64) bool {
	fired := false
	for len(c.timers) > 0 && c.timers[0].wakeAt <= now {
		c.traceWake(c.timers[0])
		c.wakeUp(heap.Pop(&c.timers).(*SIP))
		fired = true
	}
	return fired
}

// sleep blocks the core until a producer rings its doorbell, its next timer
// is due, or its capacity lets it run again, following the urpc doorbell
// protocol.
func (c *Core) sleep() {
	c.bell.Arm()
	c.refreshIn()
	for _, in := range c.in {
		if !in.ring.Empty() {
			c.bell.Disarm()
			return
		}
	}
	if len(c.pending) > 0 {
		// A ring we send on was full; retry soon rather than sleep.
		c.bell.Disarm()
		runtime.Gosched()
		return
	}
	wake := int64(-1)
	if len(c.timers) > 0 {
		wake = c.timers[0].wakeAt
	}
	if t, ok := c.bal.wakeAt(); ok && (wake < 0 || t < wake) {
		wake = t
	}
	if t, ok := c.tickerWake(); ok && (wake < 0 || t < wake) {
		wake = t
	}
	var timer *time.Timer
	var fire <-chan time.Time
	if wake >= 0 {
		d := time.Duration(wake - c.m.Now())
		if d <= 0 {
			c.bell.Disarm()
			return
		}
		timer = time.NewTimer(d)
		fire = timer.C
	}
	c.stats.Sleeps++
	asleep := c.m.Now()
	c.traceSleep(asleep, trace.Sleep)
	rung := c.bell.Wait(fire)
	if timer != nil {
		timer.Stop()
	}
	woke := c.m.Now()
	c.traceSleep(woke, trace.Awake)
	c.win.slept(woke-asleep, rung)
	c.sampleCPU()
}

// shutdown kills the SIPs the core still owns: runnable, sleeping, waiting
// for a service or blocked.
func (c *Core) shutdown() {
	c.ringLazy()
	for s := range c.owned {
		s.proc.Kill()
		c.exit(s)
	}
	c.bal.finish(c.m.Now())
}

// timerHeap orders sleeping SIPs by wake-up time.
type timerHeap []*SIP

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].wakeAt < h[j].wakeAt }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(*SIP)) }
func (h *timerHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}
