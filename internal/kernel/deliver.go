package kernel

import "isle/internal/urpc"

// Deliverable is work that a core hands to another core by message: the
// message carries the value (and ownership of whatever it holds), and the
// receiving core calls Deliver on its own goroutine. Mechanisms above the
// kernel (channels between SIPs, replicated tables) use it to act on state
// that another core owns without touching that state themselves.
type Deliverable interface {
	Deliver(c *Core)
}

// SIPDeliverable is a Deliverable meant for the core that owns a SIP. SIPs
// move between cores, so the sender addresses it to where it last knew the
// SIP to be; a core that gave the SIP away forwards it along the SIP's path
// (each core remembers where it sent the SIPs it gave away, and messages on
// one ring keep their order, so a forwarded delivery never overtakes the
// SIP). A core that neither owns nor gave away the SIP (it has ended)
// delivers it where it is; Deliver must then cope with a SIP that is gone.
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

// deliver runs d here, or forwards it after the SIP it targets.
func (c *Core) deliver(d Deliverable) {
	if to, ok := c.forwardTo(d); ok {
		c.send(c.toCore[to], msgDeliver, nil, d)
		return
	}
	d.Deliver(c)
}

// deliverData is deliver for a DataDeliverable.
func (c *Core) deliverData(d DataDeliverable, data []byte) {
	if to, ok := c.forwardTo(d); ok {
		c.send(c.toCore[to], msgDeliverData, data, d)
		return
	}
	d.DeliverData(c, data)
}

// forwardTo reports where to forward d: the core c gave d's target SIP to,
// if d has a target that c gave away.
func (c *Core) forwardTo(d any) (int, bool) {
	t, ok := d.(interface{ Target() *SIP })
	if !ok {
		return 0, false
	}
	s := t.Target()
	if s == nil {
		return 0, false
	}
	if _, mine := c.owned[s]; mine {
		return 0, false
	}
	to, moved := c.forward[s]
	if moved {
		c.stats.Forwarded++
	}
	return to, moved
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
	c.send(c.toCore[to], msgDeliver, nil, d)
}

// SendData hands d and data (at most DataSize bytes) to core to, as SendTo
// does; data is copied into the message.
func (c *Core) SendData(to int, d DataDeliverable, data []byte) {
	if len(data) > DataSize {
		panic("kernel: SendData of more than DataSize bytes")
	}
	if to == c.id {
		c.deliverData(d, data)
		return
	}
	c.send(c.toCore[to], msgDeliverData, data, d)
}

// Wake makes a SIP that c owns runnable again if it is blocked in Block; a
// wake for a SIP that is not blocked is remembered and ends its next Block
// at once. It must be called on c's goroutine.
func (c *Core) Wake(s *SIP) {
	if s.core != c {
		panic("kernel: Wake of a SIP another core owns")
	}
	if s.blocked {
		s.blocked = false
		c.enqueue(s)
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
