package trace

import (
	"io"
	"path"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// The export is Perfetto's protobuf trace, hand-encoded with protowire: a
// Trace is a sequence of TracePacket fields. It holds one ProcessTree
// packet naming every SIP (a process of one thread, tid = tgid = pid), then
// for each core FtraceEventBundle packets (cpu = the core) of sched_switch,
// sched_wakeup and cpu_idle events, as Linux's ftrace writes them, so that
// Perfetto's CPU tracks, thread-state rows and wake-up arrows work as for a
// Linux trace (docs/trace.md says why this format and not Chrome's JSON).
// Field numbers, from perfetto's protos/perfetto/trace/:
const (
	fTracePacket = 1 // Trace.packet

	fPacketFtrace      = 1  // TracePacket.ftrace_events (FtraceEventBundle)
	fPacketProcessTree = 2  // TracePacket.process_tree
	fPacketTimestamp   = 8  // TracePacket.timestamp
	fPacketSequenceID  = 10 // TracePacket.trusted_packet_sequence_id

	fBundleCPU   = 1 // FtraceEventBundle.cpu
	fBundleEvent = 2 // FtraceEventBundle.event
	// FtraceEventBundle field 3: overwrite_count (uint32) in older
	// perfetto, lost_events (bool) in newer; both varints, so a count of
	// dropped events reads as "events were lost" in either.
	fBundleLost = 3

	fEventTimestamp   = 1   // FtraceEvent.timestamp
	fEventPID         = 2   // FtraceEvent.pid: the thread running when the event happened
	fEventSchedSwitch = 4   // FtraceEvent.sched_switch
	fEventCPUIdle     = 13  // FtraceEvent.cpu_idle
	fEventSchedWakeup = 17  // FtraceEvent.sched_wakeup
	fEventWakeupNew   = 114 // FtraceEvent.sched_wakeup_new (read, not written)

	fSwitchPrevComm  = 1 // SchedSwitchFtraceEvent
	fSwitchPrevPID   = 2
	fSwitchPrevPrio  = 3
	fSwitchPrevState = 4
	fSwitchNextComm  = 5
	fSwitchNextPID   = 6
	fSwitchNextPrio  = 7

	fWakeupComm      = 1 // SchedWakeupFtraceEvent
	fWakeupPID       = 2
	fWakeupPrio      = 3
	fWakeupSuccess   = 4
	fWakeupTargetCPU = 5

	fIdleState = 1 // CpuIdleFtraceEvent
	fIdleCPU   = 2

	fTreeProcesses = 1 // ProcessTree.processes
	fTreeThreads   = 2 // ProcessTree.threads
	fProcPID       = 1 // ProcessTree.Process
	fProcPPID      = 2
	fProcCmdline   = 3
	fThreadTID     = 1 // ProcessTree.Thread
	fThreadName    = 2
	fThreadTGID    = 3
)

// Linux's task states, as sched_switch's prev_state reports them (kernel
// 4.14 and later), which Perfetto draws in a thread's state row.
const (
	stateRunnable = 0x00 // R: preempted or yielded
	stateSleeping = 0x01 // S: blocked, sleeping
	stateDisk     = 0x02 // D: waiting for a service (as for I/O)
	stateDead     = 0x10 // X: exited
)

// idleExit is cpu_idle's state when a CPU leaves idle ((u32)-1).
const idleExit = 4294967295

// sequenceID is the trusted_packet_sequence_id of every packet: the trace
// is one writer's.
const sequenceID = 1

// stateOf maps a switch-out reason to a prev_state.
func stateOf(why uint8) int64 {
	switch Reason(why) {
	case Preempted, Yielded:
		return stateRunnable
	case Request:
		return stateDisk
	case Exited:
		return stateDead
	}
	return stateSleeping
}

// out is one ftrace event on its way into a core's bundle.
type out struct {
	t   int64
	buf []byte // the encoded FtraceEvent
}

// exporter turns Data into per-core ftrace events.
type exporter struct {
	d     Data
	procs map[int64]Proc
	// running[c]: the switches of core c as (time, pid now running), to
	// find the thread that ran on a core at a given time.
	running [][]transition
	// sends[{j, c}]: the times core j sent core c a message, in order.
	// Messages on one ring keep their order, so the k-th message core c
	// received from j is the k-th j sent it: a wake-up that a message
	// from j caused was sent by whoever ran on j at that send.
	sends map[[2]int][]int64
	recvs map[[2]int]int // messages from j that core c received so far
	cause []int64        // cause[j]: when the last message c received from j was sent; -1 unknown
}

type transition struct {
	t   int64
	pid int64
}

// Export writes d as a Perfetto trace.
func Export(w io.Writer, d Data) error {
	x := &exporter{d: d, procs: map[int64]Proc{}, running: make([][]transition, len(d.Cores)),
		sends: map[[2]int][]int64{}, recvs: map[[2]int]int{}, cause: make([]int64, len(d.Cores))}
	for _, p := range d.Procs {
		x.procs[p.PID] = p
	}
	for c, evs := range d.Cores {
		for _, e := range evs {
			switch e.Kind {
			case SwitchIn:
				x.running[c] = append(x.running[c], transition{e.Time, e.PID})
			case SwitchOut:
				x.running[c] = append(x.running[c], transition{e.Time, 0})
			case MsgSend:
				if e.Core >= 0 {
					k := [2]int{c, int(e.Core)}
					x.sends[k] = append(x.sends[k], e.Time)
				}
			}
		}
	}
	bundles := make([][]out, len(d.Cores))
	for c, evs := range d.Cores {
		for j := range x.cause {
			x.cause[j] = -1
		}
		for _, e := range evs {
			to, o, ok := x.event(c, e)
			if ok {
				bundles[to] = append(bundles[to], o)
			}
		}
	}
	var b []byte
	b = protowire.AppendTag(b, fTracePacket, protowire.BytesType)
	b = protowire.AppendBytes(b, x.processTree())
	for c, evs := range bundles {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
		for start := 0; start < len(evs) || (start == 0 && d.Dropped[c] > 0); start += bundleEvents {
			end := min(start+bundleEvents, len(evs))
			b = protowire.AppendTag(b, fTracePacket, protowire.BytesType)
			b = protowire.AppendBytes(b, bundlePacket(c, evs[start:end], lostIf(start == 0, d.Dropped[c])))
			if end == len(evs) {
				break
			}
		}
	}
	for _, pkt := range x.tracks() {
		b = protowire.AppendTag(b, fTracePacket, protowire.BytesType)
		b = protowire.AppendBytes(b, pkt)
	}
	_, err := w.Write(b)
	return err
}

func lostIf(first bool, n uint64) uint64 {
	if first {
		return n
	}
	return 0
}

// event encodes e, recorded by core c; it reports which core's bundle the
// event goes in, and false for an event Perfetto is not shown.
func (x *exporter) event(c int, e Event) (int, out, bool) {
	var m []byte
	field := 0
	bundle := c
	waker := int64(-1) // -1: whoever ran on the bundle's core then
	switch e.Kind {
	case MsgRecv:
		x.received(c, e)
		return 0, out{}, false
	case SwitchIn:
		field = fEventSchedSwitch
		m = x.appendSwitch(m, 0, stateRunnable, e.PID)
	case SwitchOut:
		field = fEventSchedSwitch
		m = x.appendSwitch(m, e.PID, stateOf(e.Why), 0)
	case Wakeup:
		// Drawn where the cause came from: a wake-up sent by another
		// core is that core's event, as Linux's sched_wakeup is the
		// waker's CPU's; it targets the core that runs the SIP.
		if j := int(e.Core); j >= 0 && j < len(x.d.Cores) && j != c {
			bundle, waker = j, 0
			if t := x.cause[j]; t >= 0 {
				waker = x.runningAt(j, t, MsgSend)
			}
		}
		field = fEventSchedWakeup
		p := x.procs[e.PID]
		m = protowire.AppendTag(m, fWakeupComm, protowire.BytesType)
		m = protowire.AppendString(m, x.comm(e.PID))
		m = appendVarint(m, fWakeupPID, uint64(e.PID))
		m = appendVarint(m, fWakeupPrio, uint64(120+p.Nice))
		m = appendVarint(m, fWakeupSuccess, 1)
		m = appendVarint(m, fWakeupTargetCPU, uint64(c))
	case Sleep, Awake:
		field = fEventCPUIdle
		state := uint64(0)
		if e.Kind == Awake {
			state = idleExit
		}
		m = appendVarint(m, fIdleState, state)
		m = appendVarint(m, fIdleCPU, uint64(c))
	default:
		return 0, out{}, false
	}
	var ev []byte
	ev = appendVarint(ev, fEventTimestamp, uint64(e.Time))
	if waker < 0 {
		waker = x.runningAt(bundle, e.Time, e.Kind)
	}
	ev = appendVarint(ev, fEventPID, uint64(waker))
	ev = protowire.AppendTag(ev, protowire.Number(field), protowire.BytesType)
	ev = protowire.AppendBytes(ev, m)
	return bundle, out{t: e.Time, buf: ev}, true
}

// received pairs a message core c received with its send (sends).
func (x *exporter) received(c int, e Event) {
	j := int(e.Core)
	if j < 0 || j >= len(x.d.Cores) {
		return
	}
	k := [2]int{j, c}
	n := x.recvs[k]
	x.recvs[k] = n + 1
	x.cause[j] = -1
	// A ring that dropped events lost the first sends or receives: the
	// pairing by count no longer holds, and the waker is not named.
	if x.d.Dropped[j] == 0 && x.d.Dropped[c] == 0 && n < len(x.sends[k]) {
		x.cause[j] = x.sends[k][n]
	}
}

// runningAt returns the pid running on core c at time t (0: idle). A
// switch at t itself counts as done for a wake-up, and not yet for the
// switch (whose common pid is the thread switching out).
func (x *exporter) runningAt(c int, t int64, k Kind) int64 {
	tr := x.running[c]
	i := sort.Search(len(tr), func(i int) bool { return tr[i].t > t })
	if k == SwitchIn || k == SwitchOut {
		i = sort.Search(len(tr), func(i int) bool { return tr[i].t >= t })
	}
	if i == 0 {
		return 0
	}
	return tr[i-1].pid
}

func (x *exporter) appendSwitch(m []byte, prev int64, state int64, next int64) []byte {
	m = protowire.AppendTag(m, fSwitchPrevComm, protowire.BytesType)
	m = protowire.AppendString(m, x.comm(prev))
	m = appendVarint(m, fSwitchPrevPID, uint64(prev))
	m = appendVarint(m, fSwitchPrevPrio, uint64(x.prio(prev)))
	m = appendVarint(m, fSwitchPrevState, uint64(state))
	m = protowire.AppendTag(m, fSwitchNextComm, protowire.BytesType)
	m = protowire.AppendString(m, x.comm(next))
	m = appendVarint(m, fSwitchNextPID, uint64(next))
	return appendVarint(m, fSwitchNextPrio, uint64(x.prio(next)))
}

// comm is a thread's name: the base name of the SIP's (its program's path;
// the process's cmdline keeps it whole), "swapper" for a core's idle loop as
// on Linux (pid 0).
func (x *exporter) comm(pid int64) string {
	if pid == 0 {
		return "swapper"
	}
	if p, ok := x.procs[pid]; ok && p.Name != "" {
		return path.Base(p.Name)
	}
	return "sip"
}

func (x *exporter) prio(pid int64) int {
	if pid == 0 {
		return 120
	}
	return 120 + x.procs[pid].Nice
}

// processTree encodes the packet that names every SIP.
func (x *exporter) processTree() []byte {
	var tree []byte
	for _, p := range x.d.Procs {
		var m []byte
		m = appendVarint(m, fProcPID, uint64(p.PID))
		m = appendVarint(m, fProcPPID, uint64(p.Parent))
		m = protowire.AppendTag(m, fProcCmdline, protowire.BytesType)
		m = protowire.AppendString(m, p.Name)
		tree = protowire.AppendTag(tree, fTreeProcesses, protowire.BytesType)
		tree = protowire.AppendBytes(tree, m)
	}
	for _, p := range x.d.Procs {
		var m []byte
		m = appendVarint(m, fThreadTID, uint64(p.PID))
		m = protowire.AppendTag(m, fThreadName, protowire.BytesType)
		m = protowire.AppendString(m, x.comm(p.PID))
		m = appendVarint(m, fThreadTGID, uint64(p.PID))
		tree = protowire.AppendTag(tree, fTreeThreads, protowire.BytesType)
		tree = protowire.AppendBytes(tree, m)
	}
	var pkt []byte
	pkt = appendVarint(pkt, fPacketTimestamp, 0)
	pkt = protowire.AppendTag(pkt, fPacketProcessTree, protowire.BytesType)
	pkt = protowire.AppendBytes(pkt, tree)
	return appendVarint(pkt, fPacketSequenceID, sequenceID)
}

// bundlePacket encodes one packet of core c's events.
func bundlePacket(c int, evs []out, lost uint64) []byte {
	var bundle []byte
	bundle = appendVarint(bundle, fBundleCPU, uint64(c))
	for _, o := range evs {
		bundle = protowire.AppendTag(bundle, fBundleEvent, protowire.BytesType)
		bundle = protowire.AppendBytes(bundle, o.buf)
	}
	if lost > 0 {
		bundle = appendVarint(bundle, fBundleLost, lost)
	}
	var pkt []byte
	pkt = protowire.AppendTag(pkt, fPacketFtrace, protowire.BytesType)
	pkt = protowire.AppendBytes(pkt, bundle)
	return appendVarint(pkt, fPacketSequenceID, sequenceID)
}

func appendVarint(b []byte, n protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
