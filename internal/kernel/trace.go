package kernel

import (
	"isle/internal/contract"
	"isle/internal/sched"
	"isle/internal/trace"
	"isle/internal/urpc"
)

// Trace points (internal/trace). Each is a one-line call at its place in
// the kernel: a small function that tests the core's ring and, only when
// tracing is on, records the event, or calls the body that does. Off, a
// trace point costs that one branch, always taken the same way. The points
// of a cross-core round trip (a poll's switch out and switch in, a message
// received, the wake-up it causes, a message sent to a core) record inline:
// small enough for the compiler to inline whole (Go's budget of 80), with
// no call, their fields packed by the compiler (trace.Ring.Record). Events
// are stamped with the machine's clock (Now); a point that already has the
// time is given it.

// tracer is a core's tracing state. Core-local.
type tracer struct {
	// ring: the core's events, inside the tracer (a trace point finds it
	// at an offset from the core, not through a pointer); not On: tracing
	// is off.
	ring trace.Ring
	// from: where the message being handled came from (a core, a service
	// or the controller); the core itself outside a message. A wake-up
	// names it as its cause. Kept as a packed word's Core (trace.Meta).
	from uint64
	// last: the core's latest clock reading that tracing saw. Messages
	// are stamped with it rather than with a clock read of their own: on
	// the cross-core ping-pong, clock reads were most of what tracing
	// cost (docs/trace.md).
	last int64
	// The contract of the last channel event, the index of its name in
	// the ring's names, and for each of its messages the packed word's
	// fields (trace.Meta) that name it: its name's index as the Sub, the
	// contract's as the Core. A core's channel events are mostly of one
	// contract, which then costs a pointer compare and a load. The
	// pointer keeps the contract alive, so it is never another one at the
	// same address.
	con      *contract.Contract
	conName  uint64 // a uint16, kept as a packed word's Core
	msgWords []uint64
	// The ring of the last urpc message sent, and its receiver: a core
	// sends to one peer again and again, which then costs a pointer
	// compare rather than a walk over its rings (peerOf).
	sentRing *urpc.Ring
	sentPeer int32
	// sentFold: what a channel send that a message on sentRing carries
	// adds to its slot's packed word (trace.Ring.FoldChanSend): the peer
	// core plus one; 0 when the peer is no core.
	sentFold uint64
	// chanSending: a channel send is under way (SIP.TraceChanSending):
	// the urpc message that carries it to another core, recorded
	// meanwhile, leaves its slot for the send to fold into (foldSent,
	// with sendFold what the send's packed word takes from the message:
	// its type and its core plus one, as trace.Ring.FoldChanSend says).
	chanSending bool
	sendFold    uint64
	// fold: what the ring's latest slot can take in, at the same time
	// (trace.Ring's folds): set by the trace point that recorded it,
	// cleared by every other event, by a new clock reading and by a
	// channel send's start. The folds then store without looking at the
	// slot first.
	fold uint8
}

// What the ring's latest slot can take in (tracer.fold).
const (
	foldNone = iota
	foldWake // a MsgRecv from tracer.from that woke no one: the wake-up it causes
	foldRecv // the running SIP's SwitchIn: its channel receive
	foldSent // a MsgSend that carries the channel send under way: that send
)

// Spawns, migrations, switches out and sleeps read the clock; messages and
// wake-ups, the events of every cross-core round trip, do not.

// put records an event of those fields stamped now, a clock reading,
// which becomes the latest unless one already is newer (a direct switch's
// switch in is stamped with a time read before the switch out:
// handoff.go) (trace.Ring.Put: the fields stored one by one, not an Event
// built and copied, which costs a stall).
func (t *tracer) put(now int64, k trace.Kind, why uint8, sub uint16, core int32, pid, arg int64) {
	t.last = max(t.last, now)
	t.fold = foldNone
	t.ring.Record(now, pid, arg, trace.Meta(k, why, sub, core))
}

// putLast is put stamped with the latest reading (messages, wake-ups).
func (t *tracer) putLast(k trace.Kind, why uint8, sub uint16, core int32, pid, arg int64) {
	t.fold = foldNone
	t.ring.Record(t.last, pid, arg, trace.Meta(k, why, sub, core))
}

// msgTypeNames names the kernel's urpc message types, by type, for a
// trace: a steal request, a load summary, a migration are the balancer's
// decisions on the wire.
func msgTypeNames() []string {
	names := make([]string, msgAbandon+1)
	for t, n := range map[uint8]string{
		msgSpawn: "spawn", msgStop: "stop", msgReply: "reply", msgPing: "ping", msgPong: "pong",
		msgPingStart: "ping-start", msgRequest: "request", msgDeliver: "deliver", msgSummary: "load summary",
		msgSteal: "steal request", msgMigrate: "migrate", msgDeliverData: "deliver data", msgForget: "forget",
		msgCancel: "cancel", msgAbandon: "abandon",
	} {
		names[t] = n
	}
	return names
}

// OpNamer is a Service that names its operations (Request.Op), for a
// trace: OpNames()[op] is op's name.
type OpNamer interface {
	OpNames() []string
}

// Trace returns each core's trace, once the machine has stopped; false
// when tracing is off (Config.TraceEvents) or the machine still runs.
func (m *Machine) Trace() (trace.Data, bool) {
	if !m.stopped.Load() || m.cfg.TraceEvents <= 0 {
		return trace.Data{}, false
	}
	rings := make([]*trace.Ring, len(m.cores))
	for i, c := range m.cores {
		rings[i] = &c.tr.ring
	}
	d := trace.Collect(rings)
	d.MsgTypes = msgTypeNames()
	for _, sh := range m.services {
		n := trace.ServiceNames{Name: sh.name}
		if o, ok := sh.svc.(OpNamer); ok {
			n.Ops = o.OpNames()
		}
		d.Services = append(d.Services, n)
	}
	for _, c := range m.cores {
		var ws []trace.Wasted
		for _, w := range c.stats.Wasted {
			ws = append(ws, trace.Wasted(w))
		}
		d.Wasted = append(d.Wasted, ws)
	}
	return d, true
}

// traceSwitchIn records s switched in at now; a channel receive at the
// same time can fold into it (a direct switch's switch in is stamped
// before the latest reading: handoff.go).
func (c *Core) traceSwitchIn(s *SIP, now int64) {
	if c.tr.ring.On() {
		c.tr.ring.Record(now, s.pid, 0, metaSwitchIn)
		c.tr.fold = foldNone
		if now >= c.tr.last {
			c.tr.last, c.tr.fold = now, foldRecv
		}
	}
}

// traceSwitchOut records why s, just suspended or ended, left the core.
func (c *Core) traceSwitchOut(s *SIP, reason uint32, done bool) {
	if c.tr.ring.On() {
		c.traceOut(s, reason, done)
	}
}

func (c *Core) traceOut(s *SIP, reason uint32, done bool) {
	why, arg := trace.Blocked, int64(0)
	switch {
	case done:
		why, arg = trace.Exited, int64(s.proc.Result().Status())
	case reason == suspendPreempt:
		why = trace.Preempted
	case reason == suspendYield, reason == suspendRequeued:
		why = trace.Yielded
	case reason == suspendRequest:
		why, arg = trace.Request, int64(s.svc)
	case reason == suspendSleep:
		why = trace.Sleeping
	}
	c.tr.put(c.m.Now(), trace.SwitchOut, uint8(why), 0, 0, s.pid, arg)
}

// tracePoll records a SIP polling in its Block (poll.go) as switched out,
// blocked, from start; the poll's end is a switch in (traceSwitchIn).
// Inlined: the poll's start is a fresh reading, the latest.
func (c *Core) tracePoll(s *SIP, start int64) {
	if c.tr.ring.On() {
		c.tr.last, c.tr.fold = start, foldNone
		c.tr.ring.Record(start, s.pid, 0, metaPolled)
	}
}

// Packed words (trace.Meta) of the round trip's events.
const (
	metaPolled   = uint64(trace.SwitchOut)<<trace.KindBits | uint64(trace.Blocked)<<trace.WhyBits
	metaMsgRecv  = uint64(trace.MsgRecv) << trace.KindBits
	metaSwitchIn = uint64(trace.SwitchIn) << trace.KindBits
	metaWakeup   = uint64(trace.Wakeup) << trace.KindBits
	metaMsgSend  = uint64(trace.MsgSend) << trace.KindBits
	metaChanSend = uint64(trace.ChanSend) << trace.KindBits
	metaChanRecv = uint64(trace.ChanRecv) << trace.KindBits
	// A receive folded into its SIP's switch in (trace.FoldedSwitchIn).
	metaChanRecvIn = metaChanRecv | trace.FoldedSwitchIn<<trace.WhyBits
)

func (c *Core) traceSpawn(s *SIP) {
	if c.tr.ring.On() {
		c.traceSpawned(s)
	}
}

func (c *Core) traceSpawned(s *SIP) {
	p := trace.Proc{PID: s.pid, Nice: s.Nice, Name: s.Name}
	if s.Parent != nil {
		p.Parent = s.Parent.pid
	}
	c.tr.fold = foldNone
	c.tr.ring.Spawned(c.m.Now(), p)
}

// traceWake records that s became runnable, caused by the message being
// handled (or by this core). It is stamped, as messages are, with the
// core's latest clock reading: the loop reads the clock every turn, and
// a polling SIP's Block every few turns, so the stamp is early by at most
// a turn.
func (c *Core) traceWake(s *SIP) {
	if t := &c.tr; t.ring.On() {
		if t.fold == foldWake {
			t.ring.FoldWake(s.pid)
		} else {
			t.ring.Record(t.last, s.pid, 0, metaWakeup|t.from)
		}
		t.fold = foldNone
	}
}

// traceReply records s woken by its service's reply to req: a wake-up
// that carries the request's operation and errno, so that the trace draws
// the request from s's switch out to here (docs/trace.md).
func (c *Core) traceReply(s *SIP, req *Request) {
	if c.tr.ring.On() {
		c.tr.putLast(trace.Wakeup, trace.ReplyWake, uint16(min(req.Op, 1<<16-1)), int32(c.tr.from), s.pid, int64(req.Errno))
	}
}

// traceBalance records a decision of the balancer about core to: self is
// this core's summary as the balancer weighed it (nil: its run queue now,
// for a migration), e the SIP it gives away (nil: none). The peer's load is
// the balancer's view of it, less e, which the decision counted there.
func (c *Core) traceBalance(d trace.Decision, to sched.CoreID, e *sched.Entity, self *sched.LoadSummary) {
	if c.tr.ring.On() {
		c.traceBalanced(d, to, e, self)
	}
}

func (c *Core) traceBalanced(d trace.Decision, to sched.CoreID, e *sched.Entity, self *sched.LoadSummary) {
	peer := c.bal.sm.Seen(to)
	load, pid := int64(0), int64(0)
	if self != nil {
		load = self.NormLoad()
	} else {
		load = sched.LoadSummary{Weight: c.rq.Load(), Capacity: c.capacity}.NormLoad()
	}
	if e != nil {
		pid = sipOf(e).pid
		peer.Weight -= e.Weight()
	}
	c.tr.put(c.m.Now(), trace.Balance, uint8(d), 0, int32(to), pid, trace.Loads(load, peer.NormLoad()))
}

func (c *Core) traceMigrate(s *SIP, to int, why trace.Migration) {
	if c.tr.ring.On() {
		c.traceEvent(trace.MigrateOut, s.pid, int32(to), 0, uint8(why))
	}
}

func (c *Core) traceMigrateIn(s *SIP, from int) {
	if c.tr.ring.On() {
		c.traceEvent(trace.MigrateIn, s.pid, int32(from), 0, 0)
	}
}

// traceSend records a message sent on r, to a core or a service.
func (c *Core) traceSend(r *urpc.Ring, typ uint8) {
	if c.tr.ring.On() {
		c.traceSent(r, typ)
	}
}

func (c *Core) traceSent(r *urpc.Ring, typ uint8) {
	t := &c.tr
	if r != t.sentRing {
		c.sentTo(r)
	}
	t.putLast(trace.MsgSend, 0, 0, t.sentPeer, 0, int64(typ))
	if t.chanSending && t.sentFold != 0 && (typ == msgDeliverData || typ == msgDeliver) {
		t.chanSending, t.fold, t.sendFold = false, foldSent, t.sentFold|uint64(typ)<<trace.WhyBits
	}
}

// traceSendCore records a message sent to core to: traceSend for a
// sender that knows its peer, inlined (SendData's, the channels' path).
func (c *Core) traceSendCore(to int, typ uint8) {
	if t := &c.tr; t.ring.On() {
		t.ring.Record(t.last, 0, int64(typ), metaMsgSend|uint64(uint32(to)))
		t.fold = foldNone
		if t.chanSending {
			t.chanSending, t.fold, t.sendFold = false, foldSent, uint64(to+1)<<16|uint64(typ)<<trace.WhyBits
		}
	}
}

// sentTo makes r the ring of the tracer's last message sent.
func (c *Core) sentTo(r *urpc.Ring) {
	t := &c.tr
	t.sentRing, t.sentPeer, t.sentFold = r, c.peerOf(r), 0
	if trace.CanFoldSend(t.sentPeer, msgDeliverData) && trace.CanFoldSend(t.sentPeer, msgDeliver) {
		// As trace.Ring.FoldChanSend packs it.
		t.sentFold = trace.Meta(0, 0, 0, (t.sentPeer+1)<<16)
	}
}

// peerOf names the receiver of ring r, one of the core's outbound rings.
func (c *Core) peerOf(r *urpc.Ring) int32 {
	for j, to := range c.toCore {
		if to == r {
			return int32(j)
		}
	}
	for s, to := range c.toSvc {
		if to == r {
			return trace.Service(s)
		}
	}
	return trace.Controller
}

// traceEvent records an event stamped now: the body of the trace points
// that have no time at hand.
func (c *Core) traceEvent(k trace.Kind, pid int64, core int32, arg int64, why uint8) {
	c.tr.put(c.m.Now(), k, why, 0, core, pid, arg)
}

// traceRecv records a message received from peer from, which is then
// handled; traceHandled marks the end of its handling.
func (c *Core) traceRecv(from int, typ uint8) {
	if c.tr.ring.On() {
		c.tr.from, c.tr.fold = uint64(uint32(from)), foldWake
		c.tr.ring.Record(c.tr.last, 0, int64(typ), metaMsgRecv|c.tr.from)
	}
}

// traceHandled: a wake-up after the message's handling is not its.
func (c *Core) traceHandled() {
	if c.tr.ring.On() {
		c.tr.from, c.tr.fold = uint64(uint32(c.id)), foldNone
	}
}

// traceClock hands tracing the loop's clock reading of this turn: an
// event stamped with it cannot fold into one stamped before.
func (c *Core) traceClock(now int64) {
	if c.tr.ring.On() {
		c.tr.last, c.tr.fold = now, foldNone
	}
}

func (c *Core) traceIdle(now int64) {
	if c.tr.ring.On() {
		c.tr.put(now, trace.IdlePoll, 0, 0, 0, 0, 0)
	}
}

// traceSleep records the core going to sleep on its doorbell (trace.Sleep)
// or waking from it (trace.Awake).
func (c *Core) traceSleep(now int64, k trace.Kind) {
	if c.tr.ring.On() {
		c.tr.put(now, k, 0, 0, 0, 0, 0)
	}
}

// Traced reports whether the core records a trace.
func (c *Core) Traced() bool { return c.tr.ring.On() }

// TraceMark records a step of a protocol that runs on the core (a 2PC
// round's: what is "prepare", "vote yes", "decided commit"...; about the
// table; tx its transaction, the coordinator's core << 40 | its sequence
// number; to the core it was sent to, or -1). The names are constants
// or long-lived: the ring keeps an index to each, not a copy.
func (c *Core) TraceMark(what, about string, tx int64, to int) {
	if c.tr.ring.On() {
		c.tr.put(c.m.Now(), trace.Mark, 0, c.tr.ring.Name(about), int32(c.tr.ring.Name(what)), int64(to+1), tx)
	}
}

// Trace points of the layers above the kernel (system calls, channel
// messages), called on the SIP's coroutine while its core runs it: they
// write the core's ring as the kernel's own points do.

// Traced reports whether the machine records a trace: host functions test
// it before they gather what an event needs.
func (s *SIP) Traced() bool { return s.core.tr.ring.On() }

// TraceCallStart reads the clock as the SIP enters a system call and
// returns it, for TraceCall.
func (s *SIP) TraceCallStart() int64 {
	c := s.core
	now := c.m.Now()
	c.tr.last, c.tr.fold = max(c.tr.last, now), foldNone
	return now
}

// TraceCall records a system call of the SIP from start (machine time) to
// now: call indexes the machine's table of calls (trace.Data.Calls), errno
// is its result (255 for any past it).
func (s *SIP) TraceCall(call int32, start int64, errno uint64) {
	if c := s.core; c.tr.ring.On() {
		// Stamped with its start, older than the latest reading.
		c.tr.fold = foldNone
		c.tr.ring.Put(start, trace.Syscall, uint8(min(errno, 255)), 0, call, s.pid, c.m.Now()-start)
	}
}

// TraceChanSending, TraceChanSent and TraceChanRecv record a channel
// message the SIP sent or received: message msg of contract con, and the
// flow id that its send and its receive share. A send is told before it
// is made (TraceChanSending) and after (TraceChanSent): the urpc message
// that carries it to another core, sent meanwhile, is recorded as the
// latest slot, and TraceChanSent folds the send into that slot
// (trace.Ring.FoldChanSend); a send that no urpc message carried (to a
// SIP of this core, through a service) has a slot of its own.
//
// None reads the clock: all are stamped with the core's latest reading
// (the SIP's switch in, or its call's start when calls are traced), as
// urpc messages are. A send's stamp is then before the message left. A
// receive that did not wait took a message queued before the SIP was
// switched in, so its stamp is after the send's; one that waited in a
// polling Block may have a stamp a few turns old, even older than the
// send's, and the export moves it up to the send's (docs/trace.md).
func (s *SIP) TraceChanSending() {
	if c := s.core; c.tr.ring.On() {
		c.tr.chanSending, c.tr.fold = true, foldNone
	}
}

// TraceChanSent records the send TraceChanSending began, once it was
// made; a send that failed is not recorded (it carried no message, and
// the next TraceChanSending starts afresh).
func (s *SIP) TraceChanSent(con *contract.Contract, msg contract.MsgID, flow uint64) {
	if c := s.core; c.tr.ring.On() {
		c.traceChanSent(s, con, msg, flow)
	}
}

// TraceChanRecv: see TraceChanSending.
func (s *SIP) TraceChanRecv(con *contract.Contract, msg contract.MsgID, flow uint64) {
	if c := s.core; c.tr.ring.On() {
		c.traceChanRecv(s, con, msg, flow)
	}
}

// traceChanSent records a channel send: into the slot of the urpc message
// that carried it, or, when none did, a slot of its own.
func (c *Core) traceChanSent(s *SIP, con *contract.Contract, msg contract.MsgID, flow uint64) {
	t := &c.tr
	t.chanSending = false
	fold := t.fold
	t.fold = foldNone
	m := t.msgWord(con, msg) | metaChanSend
	if fold == foldSent {
		t.ring.FoldChanSend(s.pid, int64(flow), m|t.sendFold)
		return
	}
	t.ring.Record(t.last, s.pid, int64(flow), m)
}

// traceChanRecv records a channel receive. One right after the SIP's
// switch in, at the same time, is folded into it (trace.FoldedSwitchIn).
func (c *Core) traceChanRecv(s *SIP, con *contract.Contract, msg contract.MsgID, flow uint64) {
	w := c.tr.msgWord(con, msg)
	if c.tr.fold == foldRecv {
		c.tr.fold = foldNone
		c.tr.ring.FoldChanRecv(w|metaChanRecvIn, int64(flow))
		return
	}
	c.tr.fold = foldNone
	c.tr.ring.Record(c.tr.last, s.pid, int64(flow), w|metaChanRecv)
}

// msgWord returns the packed word's fields that name message msg of
// contract con (its name's index in the ring's names as the Sub, the
// contract's as the Core: trace.Meta), making con the tracer's contract
// ("?" for a message con does not have).
func (t *tracer) msgWord(con *contract.Contract, msg contract.MsgID) uint64 {
	if t.con != con {
		t.names(con)
	}
	if int(msg) < len(t.msgWords) {
		return t.msgWords[msg]
	}
	return t.conName // "?": Sub 0
}

// names makes con the tracer's contract: its names' indexes in the ring.
func (t *tracer) names(con *contract.Contract) {
	t.con, t.conName, t.msgWords = con, uint64(t.ring.Name(con.Name())), t.msgWords[:0]
	for m := range con.NumMessages() {
		sub := t.ring.Name(con.Message(contract.MsgID(m)).Name())
		t.msgWords = append(t.msgWords, trace.Meta(0, 0, sub, int32(t.conName)))
	}
}
