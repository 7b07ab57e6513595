package kernel

import (
	"container/heap"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"time"

	"isle/internal/urpc"
)

// Kernel message types on urpc rings.
const (
	msgSpawn     uint8 = iota + 1 // controller → core: ref *SIP, a new SIP to own
	msgStop                       // controller → core: end the loop
	msgReply                      // service → core: ref *Request, a completed request
	msgPing                       // core → core: payload [8]byte rounds left; answered by msgPong
	msgPong                       // core → core: the answer
	msgPingStart                  // controller → core: ref *pingRun, start a ping-pong
	msgRequest                    // core → service: ref *Request, a SIP's call
	msgDeliver                    // core → core: ref Deliverable, run on the receiving core
)

const fromController = -1 << 20

type inRing struct {
	ring *urpc.Ring
	from int // ≥ 0: a core; fromController; else -1-service
}

// Core is one kernel: a goroutine running the loop below.
//
// Ownership: every field is core-local (touched only by the core's goroutine)
// except bell (rung by producers), live (read by the controller) and the
// rings' producer/consumer sides as urpc defines them. Immutable after Boot:
// id, m, in, toCore, toSvc.
type Core struct {
	id     int
	m      *Machine
	bell   *urpc.Doorbell
	in     []inRing
	toCore []*urpc.Ring // toCore[j]: this core → core j; nil for itself
	toSvc  []*urpc.Ring // toSvc[s]: this core → service s

	owned   map[*SIP]struct{} // every SIP this core owns, whatever its state
	runq    fifo
	timers  timerHeap
	pending []pendingSend // sends that found their ring full, in order
	ping    *pingRun
	stopped bool

	live  atomic.Int64 // SIPs spawned here and not ended: added by the controller, taken by the core
	stats CoreStats
	turns uint64
	cpu   int
}

type pendingSend struct {
	ring *urpc.Ring
	typ  uint8
	ref  any
}

func newCore(m *Machine, id int) *Core {
	return &Core{id: id, m: m, bell: urpc.NewDoorbell(), cpu: -1, stats: CoreStats{Core: id}, owned: map[*SIP]struct{}{}}
}

func (c *Core) loop() {
	defer c.m.coresWG.Done()
	c.sampleCPU()
	idleSince := time.Time{}
	for !c.stopped {
		c.turns++
		if c.turns%cpuSampleEvery == 0 {
			c.sampleCPU()
		}
		worked := c.drain()
		worked = c.flushPending() || worked
		if len(c.timers) > 0 {
			worked = c.fireTimers(c.m.Now()) || worked
		}
		if s := c.runq.pop(); s != nil {
			c.run(s)
			idleSince = time.Time{}
			continue
		}
		if worked {
			idleSince = time.Time{}
			continue
		}
		// Idle: poll for a window, then sleep.
		if idleSince.IsZero() {
			idleSince = time.Now()
			continue
		}
		if time.Since(idleSince) < c.m.cfg.PollWindow {
			continue
		}
		c.sleep()
		idleSince = time.Time{}
	}
	c.shutdown()
}

// drain takes a bounded batch from every inbound ring.
func (c *Core) drain() bool {
	var msg urpc.Msg
	worked := false
	for _, in := range c.in {
		r := in.ring
		for k := 0; k < drainBatch && r.Recv(&msg); k++ {
			worked = true
			c.stats.MsgsRecv++
			c.handle(in.from, &msg)
		}
		r.Release()
	}
	return worked
}

func (c *Core) handle(from int, msg *urpc.Msg) {
	switch msg.Type {
	case msgSpawn:
		s := msg.Ref.(*SIP)
		s.core = c
		c.owned[s] = struct{}{}
		c.stats.SIPs++
		c.runq.push(s)
	case msgReply:
		s := msg.Ref.(*Request).sip
		c.runq.push(s)
	case msgDeliver:
		msg.Ref.(Deliverable).Deliver(c)
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

// sendCore sends a small message to another core and rings its doorbell.
func (c *Core) sendCore(to int, typ uint8, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	for !c.toCore[to].Send(typ, b[:], nil) {
		c.drain() // keep our own inbox moving so the peer can make room
	}
	c.stats.MsgsSent++
}

// send sends a reference message, queueing it when the ring is full so the
// core never blocks.
func (c *Core) send(r *urpc.Ring, typ uint8, ref any) {
	if len(c.pending) == 0 && r.Send(typ, nil, ref) {
		c.stats.MsgsSent++
		return
	}
	c.pending = append(c.pending, pendingSend{ring: r, typ: typ, ref: ref})
}

func (c *Core) flushPending() bool {
	n := 0
	for n < len(c.pending) {
		p := c.pending[n]
		if !p.ring.Send(p.typ, nil, p.ref) {
			break
		}
		c.stats.MsgsSent++
		c.pending[n] = pendingSend{}
		n++
	}
	c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	return n > 0
}

// run resumes one SIP until it suspends or ends, and acts on why.
func (c *Core) run(s *SIP) {
	start := c.m.Now()
	s.sliceStart = start
	reason, done := s.proc.Resume()
	s.cpuTime += c.m.Now() - start
	c.stats.Switches++
	if done {
		c.exit(s)
		return
	}
	switch reason {
	case suspendYield:
		c.runq.push(s)
	case suspendPreempt:
		c.stats.Preemptions++
		c.runq.push(s)
	case suspendRequest:
		c.send(c.toSvc[s.svc], msgRequest, &s.req)
	case suspendSleep:
		heap.Push(&c.timers, s)
	case suspendBlock:
		s.blocked = true
	default:
		panic("kernel: SIP suspended for an unknown reason")
	}
}

func (c *Core) exit(s *SIP) {
	s.result = s.proc.Result()
	delete(c.owned, s)
	c.live.Add(-1)
	c.stats.Exits++
	close(s.done)
}

func (c *Core) fireTimers(now int64) bool {
	fired := false
	for len(c.timers) > 0 && c.timers[0].wakeAt <= now {
		c.runq.push(heap.Pop(&c.timers).(*SIP))
		fired = true
	}
	return fired
}

// sleep blocks the core until a producer rings its doorbell or its next
// timer is due, following the urpc doorbell protocol.
func (c *Core) sleep() {
	c.bell.Arm()
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
	var timer *time.Timer
	var fire <-chan time.Time
	if len(c.timers) > 0 {
		d := time.Duration(c.timers[0].wakeAt - c.m.Now())
		if d <= 0 {
			c.bell.Disarm()
			return
		}
		timer = time.NewTimer(d)
		fire = timer.C
	}
	c.stats.Sleeps++
	c.bell.Wait(fire)
	if timer != nil {
		timer.Stop()
	}
	c.sampleCPU()
}

// shutdown kills the SIPs the core still owns: runnable, sleeping, waiting
// for a service or blocked.
func (c *Core) shutdown() {
	for s := range c.owned {
		s.proc.Kill()
		c.exit(s)
	}
}

// fifo is a growable ring buffer of SIPs: the run queue until the EEVDF
// policy of internal/sched is wired in.
type fifo struct {
	buf        []*SIP
	head, size int
}

func (q *fifo) push(s *SIP) {
	if q.size == len(q.buf) {
		nb := make([]*SIP, max(8, 2*len(q.buf)))
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = s
	q.size++
}

func (q *fifo) pop() *SIP {
	if q.size == 0 {
		return nil
	}
	s := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return s
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
