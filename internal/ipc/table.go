package ipc

import (
	"isle/internal/contract"
)

// Handle names an endpoint or a block in one table. The low HandleIndexBits
// bits are the slot's index plus one (so 0 is never a handle), the rest the
// slot's generation, which changes each time the slot is freed: a stale
// handle is refused, never confused with the slot's next occupant.
type Handle = contract.Handle

// Handle layout.
const (
	HandleIndexBits = 20
	handleIndexMask = 1<<HandleIndexBits - 1
)

// Limits in one place.
//
// Handles and HeapBytes count what a table holds and what its endpoints
// have sent that their peers have not yet received (quota.go): a message
// stays charged to its sender until the receiver takes it.
type Limits struct {
	Handles     int   // handles one table may hold, plus endpoints and blocks it sent that are not yet received
	HeapBytes   int64 // bytes of blocks one table owns, plus blocks and packet payloads it sent that are not yet received
	MaxPayload  int   // bytes in one message's payload (bigger data goes in blocks)
	MaxBlocks   int   // blocks attached to one message
	MaxBlock    int64 // bytes in one block
	InlineBytes int   // payloads up to this size travel inside the packet
	// QueueMessages is how many messages one endpoint may have sent that
	// its peer has not yet received; a send past it is ErrQuota.
	QueueMessages int
}

// DefaultLimits are the limits of a SIP unless the machine says otherwise.
func DefaultLimits() Limits {
	return Limits{
		Handles:     1024,
		HeapBytes:   64 << 20,
		MaxPayload:  64 << 10,
		MaxBlocks:   8,
		MaxBlock:    16 << 20,
		InlineBytes: 48,
		// Enough that a stream never waits for a credit in steady state
		// (the receiver credits every creditEvery), few enough that a
		// SIP's 512 channels queue at most 64 Ki packets (~20 MiB).
		QueueMessages: 128,
	}
}

// System is the channel layer of one machine: the limits and one coreState
// per core. The slice is immutable after NewSystem; each coreState is touched
// only by its core.
type System struct {
	limits Limits
	cores  []coreState
	// Every core reads a System on every message: whole lines of its own
	// keep it from sharing one with an object that a core writes (see
	// lineFill; perf found the receive path waiting on this line).
	_ [systemFill]byte
}

// coreState is one core's free packets, and its scratch for encoding an
// inline message's header (passed to Port.SendInline, an interface call, a
// local array would be allocated each time; the payload goes as it is).
type coreState struct {
	free   []*Packet // packets to reuse
	inline [InlineData]byte
	_      [64]byte // keep cores' entries off each other's cache lines
}

// NewSystem returns the channel layer of a machine of cores cores.
func NewSystem(cores int, lim Limits) *System {
	s := &System{limits: lim, cores: make([]coreState, cores)}
	for i := range s.cores {
		s.cores[i].free = make([]*Packet, 0, maxFreePackets) // 2 KiB: whole lines
	}
	return s
}

// Limits returns the system's limits.
func (s *System) Limits() Limits { return s.limits }

// Port is the core a call runs on, as the kernel offers it.
type Port interface {
	// Core returns the core's index.
	Core() int
	// Send hands p to the core that owns the SIP of table p.Dest() now,
	// starting at core to, a core that SIP has been on (the kernel follows
	// the SIP's migrations: kernel.SIPDeliverable); that core calls Deliver.
	// It delivers at once when the SIP is on this core. The caller never
	// touches p again.
	Send(to int, p *Packet)
	// SendInline is Send for an inline message (inline.go): head then
	// body, at most InlineData bytes together, are copied into the
	// message (each once), which carries r by reference; the core that
	// owns the SIP of table r.Dest() calls DeliverInline with them joined.
	SendInline(to int, r *Route, head, body []byte)
	// Wake makes the SIP that owns t runnable if it is blocked.
	Wake(t *Table)
	// Here reports whether the SIP of table t is on this core now: t is
	// then this core's to touch, and a packet for it would be delivered
	// at once (Send).
	Here(t *Table) bool
}

// Table is a SIP's handle table: the endpoints and blocks it owns, and its
// quota usage.
//
// Ownership: Owner is set at creation and immutable; every other field is
// owned by the core that owns the SIP and touched only on that core.
type Table struct {
	sys   *System
	Owner any // the SIP, handed back to Port.Wake

	slots []slot
	free  []uint32 // indexes of free slots
	live  int      // handles in use
	heap  int64    // bytes of blocks owned

	// What this table's endpoints sent that is not yet received (quota.go):
	// the sum of the charges of the endpoints whose payer is this table.
	queuedHandles int
	queuedBytes   int64

	// gone: endpoints that left this table inside a packet, and where the
	// packet went. Packets for them that reach the table follow that way.
	gone map[*Endpoint]hop
	// ghosts: endpoints closed here that the table is still charged for
	// (quota.go); when the SIP ends, their peers adopt what they queued.
	ghosts map[*Endpoint]struct{}

	// post: the receive the SIP waits in, when it posted its buffer
	// (PostRecv): a small message may be received into it at delivery
	// (posted.go).
	post postedRecv

	blocked bool // the SIP waits for a message on a watched endpoint
	dead    bool // the SIP has ended: nothing may be installed any more
	_       [tableFill]byte

	// The fields above make 192 bytes (TestLineSized; see lineFill).
}

// lineFill: Tables are written on every receive that blocks, by the core
// that owns their SIP; a Table whose size is a multiple of a cache line
// gets a size class that keeps it on lines of its own, where two Tables
// made one after the other (SIPs spawned together) would otherwise share a
// line and two cores would bounce it between them. The same holds for the
// other structures TestLineSized checks, padded by a fill where needed.

// systemFill brings a System to 128 bytes, tableFill a Table to 192.
const (
	systemFill = 48
	tableFill  = 8
)

// The same for the arrays a core writes on every message: a Go heap object
// whose size is a multiple of 64 bytes has a size class of whole lines, and
// appending doubles a capacity, so arrays that start at a line stay whole
// lines as they grow. Small arrays allocated one by one would otherwise
// share lines with whatever the other cores allocated last on the same
// processor (the Go scheduler moves core goroutines between processors), and
// a ping-pong ran 30-80% slower in the runs where they did.
const (
	lineSlots = 8  // 8 × 24-byte slots = 192 bytes
	lineFree  = 16 // 16 × 4 bytes
	lineQueue = 8  // 8 pointers
)

type slot struct {
	gen uint32
	ep  *Endpoint
	blk *Block
}

// NewTable returns an empty handle table for a SIP.
func (s *System) NewTable(owner any) *Table {
	return &Table{sys: s, Owner: owner, slots: make([]slot, 0, lineSlots), free: make([]uint32, 0, lineFree)}
}

// Handles returns the number of live handles.
func (t *Table) Handles() int { return t.live }

// HeapBytes returns the bytes of blocks the table owns.
func (t *Table) HeapBytes() int64 { return t.heap }

// Queued returns what the table's endpoints sent that their peers have not
// yet received, as charged to its quotas: endpoints and blocks, and bytes
// of blocks and packet payloads.
func (t *Table) Queued() (handles int, bytes int64) { return t.queuedHandles, t.queuedBytes }

func makeHandle(idx, gen uint32) Handle {
	return Handle((gen << HandleIndexBits) | (idx + 1))
}

func (t *Table) lookup(h Handle) (*slot, bool) {
	i := uint32(h) & handleIndexMask
	if i == 0 || int(i) > len(t.slots) {
		return nil, false
	}
	sl := &t.slots[i-1]
	if sl.gen != uint32(h)>>HandleIndexBits || (sl.ep == nil && sl.blk == nil) {
		return nil, false
	}
	return sl, true
}

// endpoint returns the endpoint h names.
func (t *Table) endpoint(h Handle) (*Endpoint, error) {
	sl, ok := t.lookup(h)
	if !ok {
		return nil, ErrBadHandle
	}
	if sl.ep == nil {
		return nil, ErrWrongType
	}
	return sl.ep, nil
}

// block returns the block h names.
func (t *Table) block(h Handle) (*Block, error) {
	sl, ok := t.lookup(h)
	if !ok {
		return nil, ErrBadHandle
	}
	if sl.blk == nil {
		return nil, ErrWrongType
	}
	return sl.blk, nil
}

// room reports whether n more handles and bytes more heap fit the quotas,
// beside what the table holds and what it sent that is not yet received.
func (t *Table) room(n int, bytes int64) bool {
	return t.live+t.queuedHandles+n <= t.sys.limits.Handles && t.heap+t.queuedBytes+bytes <= t.sys.limits.HeapBytes
}

// put installs an endpoint or a block; the caller has checked room.
func (t *Table) put(ep *Endpoint, blk *Block) Handle {
	var idx uint32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		if len(t.slots) >= handleIndexMask {
			panic("ipc: handle table past its index space") // Limits.Handles is far below
		}
		t.slots = append(t.slots, slot{})
		idx = uint32(len(t.slots) - 1)
	}
	sl := &t.slots[idx]
	sl.ep, sl.blk = ep, blk
	t.live++
	h := makeHandle(idx, sl.gen)
	if ep != nil {
		ep.table, ep.handle = t, h
		ep.setPayer(t)
	} else {
		blk.table = t
		t.heap += int64(len(blk.data))
	}
	return h
}

// remove frees h's slot; the object it named leaves the table.
func (t *Table) remove(h Handle) {
	idx := uint32(h)&handleIndexMask - 1
	sl := &t.slots[idx]
	if sl.ep != nil {
		sl.ep.table, sl.ep.handle, sl.ep.watched = nil, 0, false // its payer stays (quota.go)
	} else {
		sl.blk.table = nil
		t.heap -= int64(len(sl.blk.data))
	}
	sl.ep, sl.blk = nil, nil
	sl.gen = (sl.gen + 1) & (1<<(32-HandleIndexBits) - 1)
	t.live--
	t.free = append(t.free, idx)
}

// Close closes the endpoint or frees the block that h names.
func (t *Table) Close(p Port, h Handle) error {
	sl, ok := t.lookup(h)
	if !ok {
		return ErrBadHandle
	}
	if ep := sl.ep; ep != nil {
		t.remove(h)
		ep.close(p)
		if !t.dead && (ep.queuedBytes != 0 || ep.queuedHandles != 0) { // CloseAll's closes say it themselves
			if t.ghosts == nil {
				t.ghosts = map[*Endpoint]struct{}{}
			}
			t.ghosts[ep] = struct{}{}
		}
		return nil
	}
	t.remove(h)
	return nil
}

// CloseAll closes every endpoint and frees every block of the table, and
// marks it dead: the SIP has ended. Peers see Closed.
func (t *Table) CloseAll(p Port) {
	t.dead, t.blocked = true, false // a killed SIP may have died waiting: never wake it
	t.post = postedRecv{}           // nor write into its memory
	for i := range t.slots {
		sl := &t.slots[i]
		if sl.ep == nil && sl.blk == nil {
			continue
		}
		t.Close(p, makeHandle(uint32(i), sl.gen))
	}
	// What the table's closed endpoints still had queued is charged to
	// nobody now: their peers adopt it.
	for g := range t.ghosts {
		if !g.peerGone {
			g.sendInline(p, pktOrphan, 0, 0, nil)
		}
	}
	t.ghosts = nil
}

// Block is a block of the exchange heap: bytes owned by one table, or by one
// packet in flight, at a time. Sending it moves the pointer; the bytes are
// never copied between SIPs.
type Block struct {
	data  []byte
	table *Table // the owning table; nil while in flight
}

// Len returns the block's size in bytes.
func (b *Block) Len() int { return len(b.data) }

// Bytes returns the block's contents, for the owning core's use.
func (b *Block) Bytes() []byte { return b.data }

// Alloc makes a zeroed block of size bytes in t.
func (t *Table) Alloc(size int64) (Handle, error) {
	if size < 0 || size > t.sys.limits.MaxBlock {
		return 0, ErrTooBig
	}
	if t.dead || !t.room(1, size) {
		return 0, ErrQuota
	}
	return t.put(nil, &Block{data: make([]byte, size)}), nil
}

// Block returns the block h names, for reading and writing its bytes.
func (t *Table) Block(h Handle) (*Block, error) { return t.block(h) }

func (t *Table) goneMap() map[*Endpoint]hop {
	if t.gone == nil {
		t.gone = map[*Endpoint]hop{}
	}
	return t.gone
}
