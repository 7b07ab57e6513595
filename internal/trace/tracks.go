package trace

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// What ftrace has no events for is written as Perfetto TrackEvents, on a
// sequence of their own (trackSequence): a track per SIP, the thread's
// (TrackDescriptor.thread), with its system calls as slices and its
// channel messages and migrations as instants joined by flows (arrows);
// a track per core with its urpc messages, a send joined to its receive,
// and its wasted-core intervals as slices;
// and two counter tracks per core, its run-queue length and its messages
// per second. Field numbers, from perfetto's protos/perfetto/trace/:
const (
	fPacketTrackEvent = 11 // TracePacket.track_event
	fPacketSeqFlags   = 13 // TracePacket.sequence_flags
	fPacketTrackDesc  = 60 // TracePacket.track_descriptor

	fDescUUID    = 1 // TrackDescriptor.uuid
	fDescName    = 2 // TrackDescriptor.name
	fDescThread  = 4 // TrackDescriptor.thread (ThreadDescriptor)
	fDescCounter = 8 // TrackDescriptor.counter (CounterDescriptor)

	fTDPID  = 1 // ThreadDescriptor.pid
	fTDTID  = 2 // ThreadDescriptor.tid
	fTDName = 5 // ThreadDescriptor.thread_name

	fTEDebug    = 4  // TrackEvent.debug_annotations
	fTEType     = 9  // TrackEvent.type
	fTETrack    = 11 // TrackEvent.track_uuid
	fTEName     = 23 // TrackEvent.name
	fTECounter  = 30 // TrackEvent.counter_value
	fTEFlow     = 47 // TrackEvent.flow_ids (fixed64)
	fTETermFlow = 48 // TrackEvent.terminating_flow_ids (fixed64)

	fDAInt  = 4  // DebugAnnotation.int_value
	fDAName = 10 // DebugAnnotation.name

	seqIncrementalCleared = 1 // SEQ_INCREMENTAL_STATE_CLEARED
	trackSequence         = 2 // the TrackEvents' trusted_packet_sequence_id
)

// TrackEvent types.
const (
	SliceBegin = 1
	SliceEnd   = 2
	Instant    = 3
	Counter    = 4
)

// Track uuids: a kind in the top byte, a pid or a core below.
const (
	uuidSIP      = 1 << 56
	uuidCoreMsgs = 2 << 56
	uuidRunQueue = 3 << 56
	uuidRate     = 4 << 56
	flowMigrate  = 1 << 62 // flow ids of migrations (pid, nth)
	flowURPC     = 2 << 62 // of urpc messages (from, to, nth)
)

// rateBin is the width of the messages-per-second counter's bins.
const rateBin = 10_000_000 // 10 ms

// trackEv is one TrackEvent on its way out.
type trackEv struct {
	t     int64
	track uint64
	typ   int
	name  string
	flow  uint64 // 0: none
	term  uint64 // terminating flow; 0: none
	value int64  // Counter
	args  []debugArg
}

// debugArg is one debug annotation of a TrackEvent: a named integer.
type debugArg struct {
	name  string
	value int64
}

// errnoArg is the annotation of a failed call or request; none for 0.
func errnoArg(errno int64) []debugArg {
	if errno == 0 {
		return nil
	}
	return []debugArg{{"errno", errno}}
}

// tracks returns the TrackEvent packets of d: descriptors, then events.
func (x *exporter) tracks() [][]byte {
	p := &pairing{migOut: map[int64]int{}, migIn: map[int64]int{}, urpcOut: map[[2]int]uint64{},
		urpcIn: map[[2]int]uint64{}, sips: map[int64]bool{}, requests: map[int64]int64{}, lossless: true}
	for _, n := range x.d.Dropped {
		p.lossless = p.lossless && n == 0
	}
	var evs []trackEv
	for c, ces := range x.d.Cores {
		if c < len(x.d.Wasted) {
			for _, w := range x.d.Wasted[c] {
				evs = append(evs, trackEv{t: w.Start, track: uint64(uuidCoreMsgs | c), typ: SliceBegin, name: fmt.Sprintf("wasted: idle while core %d had SIPs waiting", w.Busy)},
					trackEv{t: max(w.End, w.Start), track: uint64(uuidCoreMsgs | c), typ: SliceEnd})
			}
		}
		evs = append(evs, runQueue(c, ces)...)
		evs = append(evs, msgRate(c, ces)...)
		clear(p.requests)
		for _, e := range ces {
			evs = x.trackEvent(evs, p, c, e)
		}
	}
	fixFlows(evs, p.lossless)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
	pkts := x.descriptors(p.sips)
	for _, e := range evs {
		pkts = append(pkts, trackPacket(fPacketTrackEvent, e.encode(), e.t, len(pkts) == 0))
	}
	return pkts
}

// pairing is what the export counts to join the two ends of a flow.
type pairing struct {
	migOut, migIn   map[int64]int     // migrations of each pid so far, out and in
	urpcOut, urpcIn map[[2]int]uint64 // messages on each ring (from, to) so far, sent and received
	sips            map[int64]bool    // SIPs with a track of their own
	requests        map[int64]int64   // pid: when its request to a service began, on the core at hand
	lossless        bool              // no ring dropped events: counts pair the ends
}

// trackEvent appends the TrackEvents of core c's event e to out.
func (x *exporter) trackEvent(out []trackEv, p *pairing, c int, e Event) []trackEv {
	sip := uint64(uuidSIP | e.PID)
	switch e.Kind {
	case Syscall:
		p.sips[e.PID] = true
		name := "call"
		if int(e.Core) >= 0 && int(e.Core) < len(x.d.Calls) {
			name = x.d.Calls[e.Core]
		}
		out = append(out, trackEv{t: e.Time, track: sip, typ: SliceBegin, name: name, args: errnoArg(int64(e.Why))},
			trackEv{t: e.Time + max(e.Arg, 0), track: sip, typ: SliceEnd})
	case SwitchOut, Wakeup:
		out = x.request(out, p, e)
	case Balance:
		out = append(out, x.balance(c, e))
	case ChanSend, ChanRecv:
		p.sips[e.PID] = true
		con, msg := x.name(c, uint16(e.Core)), x.name(c, e.Sub)
		te := trackEv{t: e.Time, track: sip, typ: Instant}
		if e.Kind == ChanSend {
			te.name, te.flow = "send "+con+"."+msg, uint64(e.Arg)
		} else {
			te.name, te.term = "recv "+con+"."+msg, uint64(e.Arg)
		}
		out = append(out, te)
	case MigrateOut:
		p.sips[e.PID] = true
		n := p.migOut[e.PID]
		p.migOut[e.PID] = n + 1
		out = append(out, trackEv{t: e.Time, track: sip, typ: Instant, flow: migFlow(e.PID, n),
			name: fmt.Sprintf("migrate core %d -> %d (%s)", c, e.Core, Migration(e.Why))})
	case MigrateIn:
		p.sips[e.PID] = true
		n := p.migIn[e.PID]
		p.migIn[e.PID] = n + 1
		out = append(out, trackEv{t: e.Time, track: sip, typ: Instant, term: migFlow(e.PID, n),
			name: fmt.Sprintf("arrive on core %d from %d", c, e.Core)})
	case Mark:
		name := fmt.Sprintf("%s %s tx %d.%d", x.name(c, uint16(e.Core)), x.name(c, e.Sub), e.Arg>>40, e.Arg&(1<<40-1))
		if e.PID > 0 {
			name += fmt.Sprintf(" -> core %d", e.PID-1)
		}
		out = append(out, trackEv{t: e.Time, track: uint64(uuidCoreMsgs | c), typ: Instant, name: name})
	case MsgSend, MsgRecv:
		te := trackEv{t: e.Time, track: uint64(uuidCoreMsgs | c), typ: Instant}
		peer, typ := peerName(int(e.Core)), fmt.Sprint(e.Arg)
		if e.Arg >= 0 && e.Arg < int64(len(x.d.MsgTypes)) && x.d.MsgTypes[e.Arg] != "" {
			typ = x.d.MsgTypes[e.Arg]
		}
		if e.Kind == MsgSend {
			te.name = fmt.Sprintf("urpc %s -> %s", typ, peer)
			if k := [2]int{c, int(e.Core)}; e.Core >= 0 && p.lossless {
				te.flow = urpcFlow(c, int(e.Core), p.urpcOut[k])
				p.urpcOut[k]++
			}
		} else {
			te.name = fmt.Sprintf("urpc %s <- %s", typ, peer)
			if k := [2]int{int(e.Core), c}; e.Core >= 0 && p.lossless {
				te.term = urpcFlow(int(e.Core), c, p.urpcIn[k])
				p.urpcIn[k]++
			}
		}
		out = append(out, te)
	}
	return out
}

// request draws a SIP's request to a service as one slice on its track,
// from the switch out that posted it to the wake-up by its reply, named by
// the service and the operation, with annotations: the service's index,
// the operation's number and the reply's errno (when not 0). A reply whose
// request is not in the ring (dropped) is not drawn.
func (x *exporter) request(out []trackEv, p *pairing, e Event) []trackEv {
	if e.Kind == SwitchOut {
		if Reason(e.Why) == Request {
			p.requests[e.PID] = e.Time
		}
		return out
	}
	start, ok := p.requests[e.PID]
	if e.Why != ReplyWake || !ok {
		return out
	}
	delete(p.requests, e.PID)
	p.sips[e.PID] = true
	sip := uint64(uuidSIP | e.PID)
	args := append([]debugArg{{"service", int64(-1 - e.Core)}, {"op", int64(e.Sub)}}, errnoArg(e.Arg)...)
	return append(out, trackEv{t: start, track: sip, typ: SliceBegin, name: x.serviceOp(int(e.Core), e.Sub), args: args},
		trackEv{t: max(e.Time, start), track: sip, typ: SliceEnd})
}

// serviceOp names operation op of the service that peer p (a Wakeup's
// Core) is.
func (x *exporter) serviceOp(p int, op uint16) string {
	if p >= 0 || p == Controller {
		return fmt.Sprintf("request to %s", peerName(p))
	}
	s := -1 - p
	if s >= len(x.d.Services) {
		return fmt.Sprintf("service %d op %d", s, op)
	}
	sv := x.d.Services[s]
	if int(op) < len(sv.Ops) && sv.Ops[op] != "" {
		return sv.Name + " " + sv.Ops[op]
	}
	return fmt.Sprintf("%s op %d", sv.Name, op)
}

// balance draws a balancer's decision as an instant on its core's track,
// with the loads it compared and the decision's number (which the report
// counts).
func (x *exporter) balance(c int, e Event) trackEv {
	self, peer := SplitLoads(e.Arg)
	sip := fmt.Sprintf("%s:%d", x.comm(e.PID), e.PID)
	var what string
	switch Decision(e.Why) {
	case AskSteal:
		what = fmt.Sprintf("steal request to core %d", e.Core)
	case Refuse:
		what = fmt.Sprintf("refuse core %d's steal request", e.Core)
	case GivePush:
		what = fmt.Sprintf("push %s to core %d", sip, e.Core)
	case GiveSteal:
		what = fmt.Sprintf("give %s to core %d, which asked", sip, e.Core)
	default:
		what = fmt.Sprintf("decision %d about core %d", e.Why, e.Core)
	}
	args := []debugArg{{"decision", int64(e.Why)}, {"load", self}, {"peer_load", peer}}
	if e.PID != 0 {
		args = append(args, debugArg{"pid", e.PID})
	}
	return trackEv{t: e.Time, track: uint64(uuidCoreMsgs | c), typ: Instant, name: BalancePrefix + what, args: args}
}

// fixFlows leaves out the migrations' flows when a ring dropped events
// (pairing by count no longer holds), and moves a channel receive stamped
// before its send (a polling Block's clock reading is a few turns old) up
// to the send.
func fixFlows(evs []trackEv, lossless bool) {
	for i := range evs {
		if evs[i].flow&(3<<62) == flowMigrate && !lossless {
			evs[i].flow = 0
		}
		if evs[i].term&(3<<62) == flowMigrate && !lossless {
			evs[i].term = 0
		}
	}
	sent := map[uint64]int64{}
	for _, e := range evs {
		if e.flow != 0 && e.flow&(3<<62) == 0 {
			sent[e.flow] = e.t
		}
	}
	for i := range evs {
		if t, ok := sent[evs[i].term]; ok && evs[i].term&(3<<62) == 0 && evs[i].t < t {
			evs[i].t = t
		}
	}
}

// descriptors returns the packets that describe the tracks: a thread's for
// each SIP in sips, and each core's own and its two counters. The first
// packet clears the sequence's incremental state.
func (x *exporter) descriptors(sips map[int64]bool) [][]byte {
	var pkts [][]byte
	desc := func(m []byte) { pkts = append(pkts, trackPacket(fPacketTrackDesc, m, 0, len(pkts) == 0)) }
	var pids []int64
	for pid := range sips {
		pids = append(pids, pid)
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	for _, pid := range pids {
		var td []byte
		td = appendVarint(td, fTDPID, uint64(pid))
		td = appendVarint(td, fTDTID, uint64(pid))
		td = appendString(td, fTDName, x.comm(pid))
		var m []byte
		m = appendVarint(m, fDescUUID, uint64(uuidSIP|pid))
		m = protowire.AppendTag(m, fDescThread, protowire.BytesType)
		desc(protowire.AppendBytes(m, td))
	}
	for c := range x.d.Cores {
		desc(appendString(appendVarint(nil, fDescUUID, uint64(uuidCoreMsgs|c)), fDescName, fmt.Sprintf("core %d", c)))
		for _, k := range []struct {
			uuid uint64
			name string
		}{{uuidRunQueue, "run queue"}, {uuidRate, "messages/s"}} {
			m := appendString(appendVarint(nil, fDescUUID, k.uuid|uint64(c)), fDescName, fmt.Sprintf("core %d %s", c, k.name))
			m = protowire.AppendTag(m, fDescCounter, protowire.BytesType)
			desc(protowire.AppendBytes(m, nil))
		}
	}
	return pkts
}

func migFlow(pid int64, n int) uint64 { return flowMigrate | uint64(pid)<<24 | uint64(n)&(1<<24-1) }

func urpcFlow(from, to int, n uint64) uint64 {
	return flowURPC | uint64(from&0x3FFF)<<48 | uint64(to&0x3FFF)<<34 | n&(1<<34-1)
}

// peerName names a message's peer: a core, a service or the controller.
func peerName(p int) string {
	switch {
	case p >= 0:
		return fmt.Sprintf("core %d", p)
	case p == Controller:
		return "controller"
	default:
		return fmt.Sprintf("service %d", -1-p)
	}
}

// name returns name i of core c's ring.
func (x *exporter) name(c int, i uint16) string {
	if c < len(x.d.Names) && int(i) < len(x.d.Names[c]) {
		return x.d.Names[c][i]
	}
	return "?"
}

// runQueue derives core c's run-queue length from its events: a SIP joins
// it when spawned, woken or migrated in, and leaves it when it blocks,
// sleeps, waits for a service, exits or migrates out. A SIP switched in
// that the count does not hold (its wake-up was in a dropped part of the
// ring, or it polled in its Block) joins it then.
func runQueue(c int, evs []Event) []trackEv {
	var out []trackEv
	in := map[int64]bool{}
	last := int64(-1)
	emit := func(t int64) {
		if n := int64(len(in)); n != last {
			out = append(out, trackEv{t: t, track: uint64(uuidRunQueue | c), typ: Counter, value: n})
			last = n
		}
	}
	for _, e := range evs {
		switch e.Kind {
		case Spawn, Wakeup, MigrateIn, SwitchIn:
			in[e.PID] = true
		case MigrateOut:
			delete(in, e.PID)
		case SwitchOut:
			if r := Reason(e.Why); r != Preempted && r != Yielded {
				delete(in, e.PID)
			}
		default:
			continue
		}
		emit(e.Time)
	}
	return out
}

// msgRate is core c's urpc messages (sent and received) per second, over
// bins of rateBin.
func msgRate(c int, evs []Event) []trackEv {
	var out []trackEv
	bin, n := int64(-1), int64(0)
	flush := func() {
		if bin >= 0 {
			out = append(out, trackEv{t: bin * rateBin, track: uint64(uuidRate | c), typ: Counter, value: n * 1e9 / rateBin},
				trackEv{t: (bin + 1) * rateBin, track: uint64(uuidRate | c), typ: Counter, value: 0})
		}
	}
	for _, e := range evs {
		if e.Kind != MsgSend && e.Kind != MsgRecv {
			continue
		}
		if b := e.Time / rateBin; b != bin {
			flush()
			bin, n = b, 0
		}
		n++
	}
	flush()
	return out
}

func (e trackEv) encode() []byte {
	var m []byte
	m = appendVarint(m, fTEType, uint64(e.typ))
	m = appendVarint(m, fTETrack, e.track)
	if e.name != "" {
		m = appendString(m, fTEName, e.name)
	}
	if e.typ == Counter {
		m = appendVarint(m, fTECounter, uint64(e.value))
	}
	if e.flow != 0 {
		m = protowire.AppendTag(m, fTEFlow, protowire.Fixed64Type)
		m = protowire.AppendFixed64(m, e.flow)
	}
	if e.term != 0 {
		m = protowire.AppendTag(m, fTETermFlow, protowire.Fixed64Type)
		m = protowire.AppendFixed64(m, e.term)
	}
	for _, a := range e.args {
		da := appendString(nil, fDAName, a.name)
		da = appendVarint(da, fDAInt, uint64(a.value))
		m = protowire.AppendTag(m, fTEDebug, protowire.BytesType)
		m = protowire.AppendBytes(m, da)
	}
	return m
}

// trackPacket wraps a TrackEvent or TrackDescriptor in a packet of the
// track sequence; the sequence's first packet says its state is fresh.
func trackPacket(field protowire.Number, m []byte, t int64, first bool) []byte {
	var pkt []byte
	pkt = appendVarint(pkt, fPacketTimestamp, uint64(t))
	pkt = protowire.AppendTag(pkt, field, protowire.BytesType)
	pkt = protowire.AppendBytes(pkt, m)
	pkt = appendVarint(pkt, fPacketSequenceID, trackSequence)
	if first {
		pkt = appendVarint(pkt, fPacketSeqFlags, seqIncrementalCleared)
	}
	return pkt
}

func appendString(b []byte, n protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// BalancePrefix begins the name of every balancer decision's instant.
const BalancePrefix = "balance: "

// String names a decision, as the report's columns do.
func (d Decision) String() string {
	switch d {
	case AskSteal:
		return "steal requests"
	case Refuse:
		return "refusals"
	case GivePush:
		return "pushes"
	case GiveSteal:
		return "steals given"
	}
	return "?"
}

func (m Migration) String() string {
	switch m {
	case Steal:
		return "steal"
	case Push:
		return "push"
	case Move:
		return "move"
	case Place:
		return "place"
	}
	return "?"
}
