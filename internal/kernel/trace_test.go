package kernel

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"isle/internal/contract"
	"isle/internal/sandbox"
	"isle/internal/sched"
	"isle/internal/testprog"
	"isle/internal/trace"
	"isle/internal/urpc"
)

// TestTracePointsAllocateNothing: with tracing on, recording an event
// allocates nothing (issue 15's target), whichever trace point records it.
func TestTracePointsAllocateNothing(t *testing.T) {
	m := &Machine{cfg: Config{Cores: 1, TraceEvents: 64}}
	c := newCore(m, 0)
	s := &SIP{pid: 7, core: c}
	con := contract.MustCompile("t.contract", "contract C {\n  msg M\n  initial state S {\n    imp M -> S\n  }\n}\n").Lookup("C")
	req := &Request{Op: 1, Errno: 8}
	self := sched.LoadSummary{Runnable: 1, Weight: 1024, Capacity: 1024}
	n := testing.AllocsPerRun(1000, func() {
		c.traceSwitchIn(s, 1)
		c.traceSwitchOut(s, suspendYield, false)
		c.tracePoll(s, 2)
		c.traceWake(s)
		c.traceRecv(0, msgDeliver)
		c.traceHandled()
		c.traceSend(nil, msgDeliver)
		s.TraceChanSending()
		c.traceSendCore(0, msgDeliverData)
		s.TraceChanSent(con, 0, 5)
		s.TraceChanRecv(con, 0, 5)
		c.traceMigrate(s, 0, trace.Push)
		c.traceMigrateIn(s, 0)
		c.traceIdle(3)
		c.traceSleep(4, trace.Sleep)
		c.traceReply(s, req)
		c.traceBalance(trace.AskSteal, 0, nil, &self)
		c.traceBalance(trace.GivePush, 0, &s.ent, nil)
	})
	if n != 0 {
		t.Fatalf("%v allocations a round of trace points", n)
	}
	if c.tr.ring.Dropped() == 0 {
		t.Fatal("the 64-event ring never filled: the trace points recorded nothing")
	}
	off := newCore(&Machine{cfg: Config{Cores: 1}}, 0)
	off.traceWake(s)
	if off.tr.ring.On() {
		t.Fatal("tracing is on without TraceEvents")
	}
}

// TestTraceCrossCoreWakeAndMove: a SIP on core 0 blocks and is woken by a
// message from core 1, then moves itself to core 2. Core 0's ring names
// core 1 as the wake-up's cause and core 2 as the migration's target, core
// 2's names core 0; the export draws the wake-up from core 1's CPU track
// to core 0.
func TestTraceCrossCoreWakeAndMove(t *testing.T) {
	ctx := context.Background()
	waiters := make(chan *SIP, 1)
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "block", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			waiters <- s
			s.Block()
			s.MoveTo(2)
		}},
		{Name: "poke", Fn: func(c *sandbox.Call, _ []uint64) {
			w := <-waiters
			SIPOf(c).Core().SendTo(0, wakeMsg{w})
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	imports := [][2]string{{"env", "block"}, {"env", "poke"}}
	load := func(body []byte) *sandbox.Module {
		mod, err := rt.Load(ctx, testprog.Module(imports, body))
		if err != nil {
			t.Fatal(err)
		}
		return mod
	}
	d, a, b := runWakeAndMove(t, load)
	checkWakeAndMoveEvents(t, d, a, b)
	checkWakeAndMoveDrawn(t, d, a, b)
}

// runWakeAndMove runs the blocker on core 0 and the poker on core 1 of a
// traced three-core machine and returns the trace.
func runWakeAndMove(t *testing.T, load func([]byte) *sandbox.Module) (trace.Data, *SIP, *SIP) {
	m, _ := New(Config{Cores: 3, TraceEvents: 1 << 12})
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	a, b := NewSIP(load([]byte{0x10, 0})), NewSIP(load([]byte{0x10, 1}))
	a.Name, b.Name = "blocker", "poker"
	m.Spawn(a, 0)
	m.Spawn(b, 1)
	<-a.Done()
	<-b.Done()
	m.Stop()
	d, ok := m.Trace()
	if !ok {
		t.Fatal("no trace")
	}
	return d, a, b
}

// checkWakeAndMoveEvents: each core recorded its side of the wake-up and
// the move.
func checkWakeAndMoveEvents(t *testing.T, d trace.Data, a, b *SIP) {
	has := func(core int, want trace.Event) bool {
		for _, e := range d.Cores[core] {
			if e.Kind == want.Kind && e.PID == want.PID && e.Core == want.Core && e.Why == want.Why {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		core int
		e    trace.Event
	}{
		{0, trace.Event{Kind: trace.Wakeup, PID: a.PID(), Core: 1}},
		{0, trace.Event{Kind: trace.MsgRecv, Core: 1}},
		{1, trace.Event{Kind: trace.MsgSend, Core: 0}},
		{0, trace.Event{Kind: trace.MigrateOut, PID: a.PID(), Core: 2, Why: uint8(trace.Move)}},
		{2, trace.Event{Kind: trace.MigrateIn, PID: a.PID(), Core: 0}},
		{2, trace.Event{Kind: trace.SwitchOut, PID: a.PID(), Why: uint8(trace.Exited)}},
		{1, trace.Event{Kind: trace.SwitchOut, PID: b.PID(), Why: uint8(trace.Exited)}},
	} {
		if !has(c.core, c.e) {
			t.Errorf("core %d has no %+v; it has %+v", c.core, c.e, d.Cores[c.core])
		}
	}
}

// checkWakeAndMoveDrawn: the export draws the wake-up from cpu 1 to cpu 0,
// and the report counts the blocker's migration.
func checkWakeAndMoveDrawn(t *testing.T, d trace.Data, a, b *SIP) {
	var buf bytes.Buffer
	if err := trace.Export(&buf, d); err != nil {
		t.Fatal(err)
	}
	dec, err := trace.Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	drawn := false
	for _, r := range dec.Records {
		if r.Kind == "sched_wakeup" && r.WakePID == a.PID() && r.CPU == 1 && r.TargetCPU == 0 {
			drawn = true
			if r.PID != b.PID() {
				t.Errorf("the wake-up's waker is pid %d, want the poker %d", r.PID, b.PID())
			}
		}
	}
	if !drawn {
		t.Errorf("no sched_wakeup of the blocker from cpu 1 to cpu 0: %+v", dec.Records)
	}
	if s := trace.Summarise(dec); len(s.Tasks) != 2 {
		t.Errorf("tasks %+v", s.Tasks)
	} else {
		for _, ts := range s.Tasks {
			if ts.PID == a.PID() && ts.Migrations != 1 {
				t.Errorf("blocker migrated %d times, want 1", ts.Migrations)
			}
		}
	}
}

// TestMsgTypeNames: every kernel message type has a name in a trace.
func TestMsgTypeNames(t *testing.T) {
	names := msgTypeNames()
	for typ := msgSpawn; typ <= msgAbandon; typ++ {
		if int(typ) >= len(names) || names[typ] == "" {
			t.Errorf("message type %d has no name", typ)
		}
	}
}

// TestTraceFoldsEvents: a wake-up caused by the message just received is
// folded into the receive's event, and a channel receive right after its
// SIP's switch in into the switch in: two slots of a ring for four events,
// which the ring's Events gives back as four.
func TestTraceFoldsEvents(t *testing.T) {
	m := &Machine{cfg: Config{Cores: 2, TraceEvents: 2}}
	c := newCore(m, 0)
	s := &SIP{pid: 7, core: c}
	c.traceClock(5)
	c.traceRecv(1, msgDeliver)
	c.traceWake(s)
	c.traceHandled()
	c.traceSwitchIn(s, 6)
	con := contract.MustCompile("t.contract", "contract C {\n  msg M\n  initial state S {\n    imp M -> S\n  }\n}\n").Lookup("C")
	s.TraceChanRecv(con, 0, 99)
	if d := c.tr.ring.Dropped(); d != 0 {
		t.Fatalf("four events took more than two slots: %d dropped", d)
	}
	var got []trace.Kind
	for _, e := range c.tr.ring.Events() {
		got = append(got, e.Kind)
	}
	want := []trace.Kind{trace.MsgRecv, trace.Wakeup, trace.SwitchIn, trace.ChanRecv}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	evs := c.tr.ring.Events()
	if evs[1].PID != 7 || evs[1].Core != 1 || evs[0].PID != 0 || evs[3].Arg != 99 || evs[3].Why != 0 || evs[2].Time != 6 {
		t.Errorf("unfolded: %+v", evs)
	}
	// A wake-up with no message behind it (a timer) is an event of its own.
	c.traceWake(s)
	if evs := c.tr.ring.Events(); evs[len(evs)-1].Kind != trace.Wakeup || evs[len(evs)-1].Core != 0 {
		t.Errorf("a timer's wake-up: %+v", evs)
	}
}

// TestTraceFoldsChannelSend: a channel send and the urpc message that
// carries it to another core take one slot, and the ring's Events gives
// back both; a message to a service, whose peer a folded send cannot
// name, keeps a slot of its own, as does a send no message carried; a
// send that failed is not recorded.
func TestTraceFoldsChannelSend(t *testing.T) {
	m := &Machine{cfg: Config{Cores: 2, TraceEvents: 8}}
	c := newCore(m, 0)
	bell := urpc.NewDoorbell()
	toCore, toSvc := urpc.NewRing(4, bell), urpc.NewRing(4, bell)
	c.toCore, c.toSvc = []*urpc.Ring{nil, toCore}, []*urpc.Ring{toSvc}
	s := &SIP{pid: 7, core: c}
	con := contract.MustCompile("t.contract", "contract C {\n  msg M\n  initial state S {\n    imp M -> S\n  }\n}\n").Lookup("C")
	c.traceClock(5)
	s.TraceChanSending()
	c.traceSend(toCore, msgDeliverData)
	s.TraceChanSent(con, 0, 99)
	if last, _ := c.tr.ring.Last(); len(c.tr.ring.Events()) != 2 || last.Kind != trace.ChanSend {
		t.Fatalf("a send and its message: %d events, last slot %+v", len(c.tr.ring.Events()), last)
	}
	s.TraceChanSending()
	c.traceSend(toSvc, msgRequest)
	s.TraceChanSent(con, 0, 100)
	s.TraceChanSending() // to a SIP of this core: no message
	s.TraceChanSent(con, 0, 102)
	s.TraceChanSending()           // fails: not told again, nothing recorded
	c.traceSendCore(1, msgDeliver) // a message after it is not its,
	s.TraceChanSending()
	s.TraceChanSent(con, 0, 103) // nor the next send's, which no message carried
	c.traceSend(toCore, msgSummary)
	evs := c.tr.ring.Events()
	want := []trace.Event{
		{Time: 5, Kind: trace.MsgSend, Core: 1, Arg: int64(msgDeliverData)},
		{Time: 5, Kind: trace.ChanSend, PID: 7, Core: int32(c.tr.conName), Sub: uint16(c.tr.msgWords[0] >> 48), Arg: 99},
		{Time: 5, Kind: trace.MsgSend, Core: trace.Service(0), Arg: int64(msgRequest)},
		{Time: 5, Kind: trace.ChanSend, PID: 7, Core: int32(c.tr.conName), Sub: uint16(c.tr.msgWords[0] >> 48), Arg: 100},
		{Time: 5, Kind: trace.ChanSend, PID: 7, Core: int32(c.tr.conName), Sub: uint16(c.tr.msgWords[0] >> 48), Arg: 102},
		{Time: 5, Kind: trace.MsgSend, Core: 1, Arg: int64(msgDeliver)},
		{Time: 5, Kind: trace.ChanSend, PID: 7, Core: int32(c.tr.conName), Sub: uint16(c.tr.msgWords[0] >> 48), Arg: 103},
		{Time: 5, Kind: trace.MsgSend, Core: 1, Arg: int64(msgSummary)},
	}
	if !slices.Equal(evs, want) {
		t.Fatalf("events\n%+v, want\n%+v", evs, want)
	}
}
