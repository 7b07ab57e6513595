package kernel

import (
	"math/bits"

	"isle/internal/urpc"
)

// Deliverable is work that a core hands to another core by message: the
// message carries the value (and ownership of whatever it holds), and the
// receiving core calls Deliver on its own goroutine. Mechanisms above the
// kernel (channels between SIPs, replicated tables) use it to act on state
// that another core owns without touching that state themselves.
type Deliverable interface {
	Deliver(c *Core)
}

// SIPDeliverable is a Deliverable meant for the core that owns a SIP. SIPs
// move between cores, so the sender addresses it to any core (best one the
// SIP has been on; its home, SIP.Home, is always right), once the SIP has
// been spawned; the kernel carries it to the SIP wherever it is or moves
// to, and it runs exactly once:
//
//   - a core that owns the SIP runs it;
//   - a core that gave the SIP away forwards it along the SIP's path (each
//     core remembers where it sent the SIPs it gave away, and messages on
//     one ring keep their order, so a forwarded delivery never overtakes
//     the SIP);
//   - a core that does not know a live SIP (it is on its way there, or was
//     never there) forwards it to the SIP's home, which always knows;
//   - a delivery for a SIP that has ended runs on the core it ended on (its
//     exit hook ran there), where Deliver must cope with a SIP that is gone.
//
// A deliverable may also have a method Forwarded(c *Core, to int): the
// kernel then calls it on core c each time it forwards the deliverable to
// core to, before sending it on (the channel layer can learn there that its
// route is stale). It must not send anything itself.
type SIPDeliverable interface {
	Deliverable
	Target() *SIP
}

// DataDeliverable is like a Deliverable, but its data travels in the
// message slot itself rather than behind its reference: the sender writes
// up to DataSize bytes into the slot, and the reference is to something the
// sender does not write again (so the receiving core keeps it in its
// cache). It is how
// small messages cross cores without moving any other cache line. A
// DataDeliverable that also has a Target method (SIPDeliverable's) follows
// that SIP as a SIPDeliverable does.
type DataDeliverable interface {
	// DeliverData runs on the receiving core; data is valid only during
	// the call.
	DeliverData(c *Core, data []byte)
}

// DataSize is the most data SendData carries.
const DataSize = urpc.PayloadSize

// Where a delivery goes, as route decides.
const (
	runHere = iota // the SIP is here, or has ended here (or d has no target)
	forward        // to another core
	hold           // until the SIP's spawn message comes (releaseHeld)
)

// heldDelivery is a delivery that came to a SIP's home before the SIP did.
type heldDelivery struct {
	s    *SIP
	d    any // a Deliverable or a DataDeliverable
	data [urpc.PayloadSize]byte
	n    uint8
}

// deliver runs d here, or forwards it after the SIP it targets.
func (c *Core) deliver(d Deliverable) {
	switch s, how, to := c.route(d); how {
	case forward:
		c.send(c.coreRing(to), msgDeliver, nil, d)
	case hold:
		c.held = append(c.held, heldDelivery{s: s, d: d})
	default:
		d.Deliver(c)
	}
}

// deliverData is deliver for a DataDeliverable.
func (c *Core) deliverData(d DataDeliverable, data []byte) {
	switch s, how, to := c.route(d); how {
	case forward:
		c.send(c.coreRing(to), msgDeliverData, data, d)
	case hold:
		h := heldDelivery{s: s, d: d, n: uint8(len(data))}
		copy(h.data[:], data)
		c.held = append(c.held, h)
	default:
		d.DeliverData(c, data)
	}
}

// route decides where d goes: runHere, hold, or forward to core to.
func (c *Core) route(d any) (s *SIP, how int, to int) {
	t, ok := d.(interface{ Target() *SIP })
	if !ok {
		return nil, runHere, 0
	}
	s = t.Target()
	if s == nil {
		return nil, runHere, 0
	}
	if _, mine := c.owned[s]; mine {
		return s, runHere, 0
	}
	to, moved := c.forward[s]
	switch e := int(s.ended.Load()) - 1; {
	case moved:
	case e == c.id:
		return s, runHere, 0
	case e >= 0:
		to = e // it ended there, and its forwarding entries are going
	case s.home != c.id:
		to = s.home // on its way here, or never here: home knows
	default:
		// Home, and not known yet: the controller's spawn message is still
		// on its ring (a delivery that another core forwarded here can
		// overtake it).
		return s, hold, 0
	}
	c.stats.Forwarded++
	if f, ok := d.(interface{ Forwarded(c *Core, to int) }); ok {
		f.Forwarded(c, to)
	}
	return s, forward, to
}

// releaseHeld delivers what was held for s, which has just come.
func (c *Core) releaseHeld(s *SIP) {
	if len(c.held) == 0 {
		return
	}
	held := c.held
	c.held = nil
	for i := range held {
		h := &held[i]
		if h.s != s {
			c.held = append(c.held, *h)
			continue
		}
		switch d := h.d.(type) {
		case Deliverable:
			c.deliver(d)
		case DataDeliverable:
			c.deliverData(d, h.data[:h.n])
		}
	}
}

// forgetTrail tells every core that forwards deliveries for s, which has
// ended on c, to drop its entry (docs/kernel.md argues why nothing is lost).
func (c *Core) forgetTrail(s *SIP) {
	for w, b := range s.trail {
		for b != 0 {
			j := w*64 + bits.TrailingZeros64(b)
			b &= b - 1
			c.send(c.coreRing(j), msgForget, nil, s)
		}
	}
	s.trail = nil
}

// forget drops the forwarding entry of s, which has ended elsewhere.
func (c *Core) forget(s *SIP) {
	delete(c.forward, s)
	c.forwards.Store(int64(len(c.forward)))
}

// ID returns the core's index.
func (c *Core) ID() int { return c.id }

// Machine returns the machine the core belongs to.
func (c *Core) Machine() *Machine { return c.m }

// SendTo hands d to core to. It must be called on c's goroutine: from the
// kernel loop, or from a host function of a SIP that c is running. When to
// is c itself, d is delivered at once. The sender must not touch d again.
func (c *Core) SendTo(to int, d Deliverable) {
	if to == c.id {
		c.deliver(d)
		return
	}
	c.send(c.coreRing(to), msgDeliver, nil, d)
}

// SendData hands d and data (at most DataSize bytes: head, then body) to
// core to, as SendTo does; the parts are copied into the message's slot,
// each once (a caller frames a guest's bytes without copying them first).
func (c *Core) SendData(to int, d DataDeliverable, head, body []byte) {
	n := len(head) + len(body)
	if n > DataSize {
		panic("kernel: SendData of more than DataSize bytes")
	}
	if to == c.id {
		copy(c.joined[copy(c.joined[:], head):], body)
		c.deliverData(d, c.joined[:n])
		return
	}
	r := c.coreRing(to)
	if len(c.pending) == 0 && r.SendPair(msgDeliverData, head, body, d) {
		c.stats.MsgsSent++
		c.traceSendCore(to, msgDeliverData)
		return
	}
	copy(c.joined[copy(c.joined[:], head):], body)
	c.send(r, msgDeliverData, c.joined[:n], d) // queued behind the pending ones
}

// Wake makes a SIP that c owns runnable again if it is blocked in Block; a
// wake for a SIP that is not blocked is remembered and ends its next Block
// at once. It must be called on c's goroutine.
func (c *Core) Wake(s *SIP) {
	if s.core != c {
		panic("kernel: Wake of a SIP another core owns")
	}
	if s.blocked {
		c.traceWake(s)
		s.blocked = false
		c.enqueue(s)
		c.noteWake(s)
		return
	}
	s.wakePending = true
}

// Core returns the core that owns the SIP. Called from the SIP's own host
// functions, it is the core running it.
func (s *SIP) Core() *Core { return s.core }

// Block suspends the SIP until its core calls Wake for it (or returns at
// once if a Wake came since the last Block). A blocked SIP frees its core.
// Called from the SIP's host functions.
func (s *SIP) Block() {
	// First: releasing may wait for a service, and a Wake that comes
	// meanwhile is pending, not lost.
	s.sendHeld()
	if s.wakePending {
		s.wakePending = false
		return
	}
	if s.core.pollBlocked(s) {
		return
	}
	s.proc.Suspend(suspendBlock)
}

// Deliver hands d to core from outside the machine (the embedding API): it
// travels on the controller ring like a spawn, and the core runs it on its
// goroutine. It reports false, delivering nothing, once the machine stops.
func (m *Machine) Deliver(core int, d Deliverable) bool {
	if !m.booted || m.stopped.Load() || core < 0 || core >= len(m.cores) {
		return false
	}
	m.ctlSend(core, msgDeliver, nil, d)
	return true
}
