// Package trace is isle's per-core event tracing: a ring of fixed-size
// events for each core, written only by that core, and the export of the
// rings to a trace that Perfetto draws as a scheduler view (perfetto.go),
// read back by Decode and summarised by Report (report.go).
//
// The rules of the interface:
//
//   - A Ring belongs to one core. Only that core's goroutine calls Add and
//     Spawned; there is no lock and no atomic. Events, Dropped and Procs are
//     read once the core has stopped (the kernel hands the rings over after
//     its cores' goroutines have ended, which orders every write before the
//     read).
//   - Add never blocks and never allocates: a full ring overwrites its
//     oldest event and counts it as dropped.
//   - Every event is stamped by the caller from one monotonic clock, the
//     machine's Now (ns since boot), so events of different cores compare.
//   - Tracing is off unless the machine was given a ring size; off, the
//     kernel's trace points cost one branch on a nil pointer.
package trace

import "unsafe"

// Limits in one place.
const (
	// DefaultEvents is the events a core's ring holds when tracing is on
	// and no size is given: 32 bytes each, 2 MiB a core.
	DefaultEvents = 1 << 16
	// MaxEvents bounds one core's ring (64 MiB of events).
	MaxEvents = 1 << 21
	// bundleEvents is the most ftrace events written in one bundle.
	bundleEvents = 4096
	// MaxNames bounds a ring's table of names (contracts and messages):
	// an index fits an event's Sub. A name past it is recorded as "?".
	MaxNames = 1 << 16
)

// Kind is what an event records.
type Kind uint8

// The kinds of event. PID is the SIP concerned; Core a peer core (or, when
// negative, Service(s) or Controller); Arg and Why as each says.
const (
	SwitchIn  Kind = iota + 1 // PID starts running on the core
	SwitchOut                 // PID stops running; Why a Reason; Arg its exit status (Exited) or service (Request)
	Spawn                     // PID is given to the core to run first; Arg its parent's pid (0: none)
	// Wakeup: PID becomes runnable; Core where the cause came from (a
	// core, a service, the controller; the core itself for a timer or a
	// local wake). Woken by its service's reply (Why ReplyWake), Sub is
	// the request's operation and Arg its errno: the request began at
	// PID's last SwitchOut (Request) on the core.
	Wakeup
	MigrateOut // PID, runnable, is handed to core Core; Why a Migration
	MigrateIn  // PID arrives from core Core
	MsgSend    // a urpc message of type Arg sent to Core
	// MsgRecv: a urpc message of type Arg received from Core. In a ring,
	// PID not 0 says that the message woke PID: the Wakeup is folded
	// into it (Ring.FoldWake; Events unfolds it).
	MsgRecv
	IdlePoll // the core has nothing to run and polls its rings
	Sleep    // the core sleeps on its doorbell
	Awake    // the core woke from its sleep
	// Syscall: PID made system call Core (an index into Data.Calls),
	// from Time for Arg ns; Why its errno (at most 255).
	Syscall
	// ChanSend and ChanRecv: PID sent or received a channel message of
	// contract Core and message Sub (both indexes into the ring's names,
	// Data.Names); Arg the flow id that links a send to its receive (62
	// bits, not 0: the export keeps the top two for its own flows). In a
	// ring, a ChanRecv whose Why is FoldedSwitchIn stands for PID's
	// SwitchIn at the same time too, and a ChanSend whose Why is not 0 for
	// the urpc message that carried it, just before at the same time: a
	// MsgSend of type Why to core Core>>16 - 1 (Events unfolds both).
	ChanSend
	ChanRecv
	// Mark: a step of a protocol above the kernel on this core (a 2PC
	// round's prepare, vote, commit or abort): what (Core) and about what
	// (Sub), indexes into the ring's names; Arg its transaction (the
	// coordinator's core << 40 | its sequence number); PID the core it
	// was sent to plus one, 0 for a step that sends nothing.
	Mark
	// Balance: a decision of the core's balancer (Why a Decision) about
	// core Core; PID the SIP it gives away (0: none); Arg the loads it
	// compared, this core's normalized load in the low 32 bits and what it
	// knew of Core's in the high (Loads).
	Balance
	maxKind
)

// ReplyWake is a Wakeup's Why when a service's reply woke the SIP.
const ReplyWake = 1

// FoldedSwitchIn is a ChanRecv's Why, in a ring, when the event stands for
// the SIP's switch in too.
const FoldedSwitchIn = 1

// A ChanSend that stands for its urpc message too (its Why that message's
// type) keeps the contract's name in the low 16 bits of its Core, the
// message's core plus one above them (Ring.FoldChanSend; Events unfolds it).
const (
	foldedPeerShift = 16
	// MaxFoldedPeer bounds the cores whose messages a ChanSend can carry
	// (kernel.MaxCores is 1024).
	MaxFoldedPeer = 1<<(31-foldedPeerShift) - 2
)

// Decision is what a core's balancer decided (Balance's Why).
type Decision uint8

// The decisions.
const (
	AskSteal  Decision = iota + 1 // ask Core, busier, for work
	Refuse                        // answer Core's steal request with nothing
	GivePush                      // push PID to Core, less loaded
	GiveSteal                     // give PID to Core, which asked
	maxDecision
)

// Loads packs the two loads of a Balance event into its Arg (each at most
// 2³²-1).
func Loads(self, peer int64) int64 {
	clamp := func(v int64) int64 { return min(max(v, 0), 1<<32-1) }
	return clamp(peer)<<32 | clamp(self)
}

// SplitLoads is Loads' inverse.
func SplitLoads(arg int64) (self, peer int64) { return arg & (1<<32 - 1), int64(uint64(arg) >> 32) }

// Reason is why a SIP switched out (SwitchOut's Why).
type Reason uint8

// The reasons.
const (
	Preempted Reason = iota + 1 // its slice was spent; still runnable
	Yielded                     // it gave up the core; still runnable
	Blocked                     // it waits for a wake-up (a channel, a child)
	Sleeping                    // it waits for a timer
	Request                     // it waits for a service's reply (Arg: the service)
	Exited                      // it ended (Arg: its exit status)
)

// Migration is why a SIP moved (MigrateOut's Why).
type Migration uint8

// The migrations.
const (
	Steal Migration = iota + 1 // an idle core asked for work
	Push                       // a loaded core gave work away
	Move                       // the SIP asked to move (MoveTo)
	Place                      // it woke and was placed on a less-loaded core (sched.Place)
)

// Peers that are not cores, in an event's Core field.
const (
	Controller = -1 << 20 // the embedder's controller rings
)

// Service returns the Core field that names service s.
func Service(s int) int32 { return int32(-1 - s) }

// Event is one trace record: 32 bytes, no pointers.
type Event struct {
	Time int64 // machine clock, ns since boot
	PID  int64 // the SIP concerned; 0 for none
	Arg  int64 // as the Kind says
	Core int32 // a peer as the Kind says
	Kind Kind
	Why  uint8
	Sub  uint16 // as the Kind says
}

// Proc names a SIP in the trace: what Perfetto shows for its thread.
type Proc struct {
	PID    int64
	Parent int64 // 0: spawned by the embedder
	Nice   int
	Name   string
}

// Ring is one core's trace buffer.
//
// Ownership: written only by its core; read after the core stopped.
type Ring struct {
	// base is &ev[0]: a slot is found by its index, masked, without a
	// bounds check (at).
	base unsafe.Pointer
	mask uint64
	n    uint64 // events added so far; slot n&mask is the next
	// on: the ring was made (On). A field of its own, which recording
	// does not read: the test of a trace point is then a compare with
	// memory, not a load of base that the record takes over (one more
	// instruction off).
	on bool
	ev []slot // len a power of two
	// procs: SIPs spawned on this core, in order.
	procs []Proc
	// names: the contract and message names the ring's events index, and
	// their indexes (a name is added once; a lookup allocates nothing).
	names []string
	index map[string]uint16
	// recent: the names last looked up, by where their bytes are: a
	// channel's trace points pass the same strings (a contract's and its
	// messages' names) again and again, and a hit costs no hashing.
	recent [8]recentName
}

// slot is an event as a ring holds it: four words, the last of which
// packs Core, Kind, Why and Sub (meta), so that recording an event is four
// stores and a fold's test of what a slot holds is one compare.
type slot struct {
	time, pid, arg int64
	meta           uint64
}

const slotSize = unsafe.Sizeof(slot{})

// meta packs an event's small fields into a slot's last word.
func meta(k Kind, why uint8, sub uint16, core int32) uint64 {
	return uint64(uint32(core)) | uint64(k)<<32 | uint64(why)<<40 | uint64(sub)<<48
}

// Meta packs an event's kind, why, sub and core as a slot holds them, for
// Record: a trace point whose fields are constants has its word made by
// the compiler.
func Meta(k Kind, why uint8, sub uint16, core int32) uint64 { return meta(k, why, sub, core) }

// Where a packed word (Meta) keeps its Kind and its Why: a word ORed with
// uint64(why)<<WhyBits sets a Why that was 0. Core is its low 32 bits.
const (
	KindBits = 32
	WhyBits  = 40
)

func (s *slot) event() Event {
	return Event{Time: s.time, PID: s.pid, Arg: s.arg, Core: int32(uint32(s.meta)),
		Kind: Kind(s.meta >> 32), Why: uint8(s.meta >> 40), Sub: uint16(s.meta >> 48)}
}

type recentName struct {
	p *byte
	i uint16
}

// NewRing returns a ring of at least events slots (rounded up to a power of
// two, at most MaxEvents).
func NewRing(events int) *Ring {
	r := new(Ring)
	r.Init(events)
	return r
}

// Init makes r, a zero Ring, a ring of at least events slots, as NewRing:
// a ring can then live inside its core's state (kernel's tracer), found at
// an offset rather than through a pointer. A ring is not copied once
// initialised.
func (r *Ring) Init(events int) {
	size := 1
	for size < events && size < MaxEvents {
		size <<= 1
	}
	ev := make([]slot, size)
	prefault(ev)
	*r = Ring{base: unsafe.Pointer(&ev[0]), ev: ev, mask: uint64(size - 1), on: true}
}

// On reports whether r was initialised: false for a zero Ring.
func (r *Ring) On() bool { return r.on }

// prefault writes a word of every page of ev, so that the pages are the
// process's before its core records: a large allocation may be pages the
// kernel has not mapped yet (fresh from it, or given back by the Go
// runtime's scavenger), and the first write to each then faults, some 1.5
// µs on this VM, 512 times for a 2 MiB ring. Taken while the core records,
// those faults were a fault every 32 traced round trips of the cross-core
// ping-pong (docs/trace.md). The allocator's own zeroing, when it zeroes,
// has already mapped them, and this is then 512 stores.
func prefault(ev []slot) {
	const perPage = 4096 / int(slotSize)
	for i := 0; i < len(ev); i += perPage {
		ev[i].meta = 0
	}
}

// at returns slot i (masked): in the ring's array, so no bounds check.
// Slot n-1 of an empty ring is its last slot, still zero: a fold's test
// (a kind of event, never 0) fails on it as on an event it cannot fold.
func (r *Ring) at(i uint64) *slot {
	return (*slot)(unsafe.Add(r.base, (i&r.mask)*uint64(slotSize)))
}

// Add records e, overwriting the oldest event when the ring is full.
func (r *Ring) Add(e Event) { r.Put(e.Time, e.Kind, e.Why, e.Sub, e.Core, e.PID, e.Arg) }

// Put records the event of those fields, as Add does. It is the fast way:
// four stores into the slot, where an Event built by the caller and
// copied in is first stored on the stack in pieces and then loaded back
// whole, and on amd64 that load waits for the stores to reach the cache
// (a store-to-load forwarding stall: 6.9 ns an event against 1.4,
// BenchmarkRingAdd and BenchmarkRingPut; docs/trace.md).
func (r *Ring) Put(t int64, k Kind, why uint8, sub uint16, core int32, pid, arg int64) {
	r.Record(t, pid, arg, meta(k, why, sub, core))
}

// Record records an event whose small fields are packed already (Meta):
// Put's four stores and the count, cheap enough for a trace point to
// inline. (The slot is assigned as one value of four words the caller
// has in registers: the compiler stores them straight into the slot,
// without the stack copy that stalls.)
func (r *Ring) Record(t, pid, arg int64, meta uint64) {
	*(*slot)(unsafe.Add(r.base, (r.n&r.mask)*uint64(slotSize))) = slot{t, pid, arg, meta}
	r.n++
}

// Last returns the ring's latest event (its slot as stored, folded or
// not); false if there is none. Its core's only, as Add.
func (r *Ring) Last() (Event, bool) {
	if r.n == 0 {
		return Event{}, false
	}
	return r.at(r.n - 1).event(), true
}

// The folds: a trace point whose event has the same time as the ring's
// latest, which can carry both, stores it into that slot rather than a
// slot of its own (Events unfolds them). The caller knows what the latest
// slot holds (the kernel's tracer keeps that as it records it): a fold
// does not look, it stores.

// FoldWake records, into the latest slot, a MsgRecv that woke no one, that
// the message woke pid.
func (r *Ring) FoldWake(pid int64) {
	(*slot)(unsafe.Add(r.base, ((r.n-1)&r.mask)*uint64(slotSize))).pid = pid
}

// FoldChanRecv turns the latest slot, a SwitchIn of the SIP that receives,
// into its receive with flow id flow: meta is the receive's packed word
// (Meta: a ChanRecv marked FoldedSwitchIn, of its message and contract).
func (r *Ring) FoldChanRecv(meta uint64, flow int64) {
	p := r.at(r.n - 1)
	p.meta, p.arg = meta, flow
}

// FoldChanSend turns the latest slot, a MsgSend that CanFoldSend allows,
// into pid's channel send with flow id flow that it carries: meta is the
// send's packed word (Meta: a ChanSend of its message and contract) with
// the message's type as its Why and its core plus one above the contract.
func (r *Ring) FoldChanSend(pid, flow int64, meta uint64) {
	p := r.at(r.n - 1)
	p.pid, p.arg, p.meta = pid, flow, meta
}

// CanFoldSend reports whether a MsgSend of type typ to core can carry the
// channel send it carries in its slot (FoldChanSend): a core, not a
// service, and a type that is not 0.
func CanFoldSend(core int32, typ uint8) bool { return uint32(core) <= MaxFoldedPeer && typ != 0 }

// Spawned records a Spawn event for p at time t and keeps p's name. The
// name table grows (an allocation now and then, as a spawn itself makes
// many); the event does not.
func (r *Ring) Spawned(t int64, p Proc) {
	r.Put(t, Spawn, 0, 0, 0, p.PID, p.Parent)
	r.procs = append(r.procs, p)
}

// Name returns the index of name in the ring's names, adding it on its
// first use (0, "?", once the table is full).
func (r *Ring) Name(name string) uint16 {
	p := unsafe.StringData(name)
	slot := &r.recent[uintptr(unsafe.Pointer(p))>>3&7]
	// The comparison makes a hit certain (bytes freed and reused by
	// another name); on the same bytes it is one pointer compare.
	if slot.p == p && p != nil && r.names[slot.i] == name {
		return slot.i
	}
	i := r.lookup(name)
	*slot = recentName{p: p, i: i}
	return i
}

func (r *Ring) lookup(name string) uint16 {
	if i, ok := r.index[name]; ok {
		return i
	}
	if r.index == nil {
		r.index, r.names = map[string]uint16{"?": 0}, []string{"?"}
	}
	if len(r.names) >= MaxNames {
		return 0
	}
	i := uint16(len(r.names))
	r.names = append(r.names, name)
	r.index[name] = i
	return i
}

// Dropped returns how many events were overwritten.
func (r *Ring) Dropped() uint64 {
	if size := uint64(len(r.ev)); r.n > size {
		return r.n - size
	}
	return 0
}

// Events returns the events the ring holds, oldest first, with the
// folded ones unfolded (FoldWake, FoldChanRecv, FoldChanSend).
func (r *Ring) Events() []Event { return unfold(r.events()) }

// unfold makes each folded event the two it stands for: a MsgRecv that
// woke a SIP, a ChanRecv at its SIP's switch in, a ChanSend and the urpc
// message that carried it.
func unfold(evs []Event) []Event {
	out := make([]Event, 0, len(evs)+len(evs)/4)
	for _, e := range evs {
		switch {
		case e.Kind == MsgRecv && e.PID != 0:
			out = append(out, Event{Time: e.Time, Kind: MsgRecv, Core: e.Core, Arg: e.Arg},
				Event{Time: e.Time, Kind: Wakeup, PID: e.PID, Core: e.Core})
		case e.Kind == ChanRecv && e.Why == FoldedSwitchIn:
			in := e
			in.Why = 0
			out = append(out, Event{Time: e.Time, Kind: SwitchIn, PID: e.PID}, in)
		case e.Kind == ChanSend && e.Why != 0:
			send := e
			send.Why, send.Core = 0, e.Core&(1<<foldedPeerShift-1)
			out = append(out, Event{Time: e.Time, Kind: MsgSend, Core: e.Core>>foldedPeerShift - 1, Arg: int64(e.Why)}, send)
		default:
			out = append(out, e)
		}
	}
	return out
}

// events returns the ring's slots, oldest first (a copy).
func (r *Ring) events() []Event {
	size := uint64(len(r.ev))
	from := uint64(0)
	if r.n > size {
		from = r.n - size
	}
	out := make([]Event, 0, r.n-from)
	for i := from; i < r.n; i++ {
		out = append(out, r.at(i).event())
	}
	return out
}

// Procs returns the SIPs spawned on the ring's core.
func (r *Ring) Procs() []Proc { return r.procs }

// Data is a whole machine's trace: each core's events and what each ring
// dropped, and the SIPs' names.
type Data struct {
	Cores    [][]Event
	Dropped  []uint64
	Procs    []Proc
	Names    [][]string // Names[c]: the names core c's events index
	Calls    []string   // the system calls' names, as Syscall events index them
	MsgTypes []string   // the urpc message types' names, by type
	// Services[s]: service s's name and its operations' names, by
	// operation (Ops may be short: an operation past it is "op N").
	Services []ServiceNames
	// Wasted[c]: the intervals in which core c idled longer than the
	// bound while another core had SIPs waiting (the no-wasted-cores
	// checker's, which the kernel keeps beside the rings).
	Wasted [][]Wasted
}

// ServiceNames names a service and its operations, for a trace.
type ServiceNames struct {
	Name string
	Ops  []string
}

// Wasted is one wasted-core interval: idle from Start to End while core
// Busy had SIPs waiting.
type Wasted struct {
	Busy       int
	Start, End int64
}

// Collect gathers the rings of a stopped machine, ring i being core i's.
func Collect(rings []*Ring) Data {
	d := Data{Cores: make([][]Event, len(rings)), Dropped: make([]uint64, len(rings))}
	for i, r := range rings {
		d.Cores[i] = r.Events()
		d.Dropped[i] = r.Dropped()
		d.Procs = append(d.Procs, r.procs...)
		d.Names = append(d.Names, r.names)
	}
	return d
}
