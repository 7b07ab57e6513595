package trace

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRingDropsOldest(t *testing.T) {
	r := NewRing(4)
	for i := 1; i <= 6; i++ {
		r.Add(Event{Time: int64(i), Kind: IdlePoll})
	}
	if got := r.Dropped(); got != 2 {
		t.Fatalf("Dropped = %d, want 2", got)
	}
	evs := r.Events()
	if len(evs) != 4 || evs[0].Time != 3 || evs[3].Time != 6 {
		t.Fatalf("Events = %v, want times 3..6", evs)
	}
}

func TestRingAddAllocatesNothing(t *testing.T) {
	r := NewRing(8)
	e := Event{Time: 1, Kind: SwitchIn, PID: 2}
	if n := testing.AllocsPerRun(1000, func() { r.Add(e) }); n != 0 {
		t.Fatalf("Add allocates %v times a call", n)
	}
}

func TestEventSize(t *testing.T) {
	// Fixed-size binary events: 32 bytes, two to a cache line.
	if n := unsafe.Sizeof(Event{}); n != 32 {
		t.Fatalf("an Event is %d bytes, want 32", n)
	}
}

// sample is a two-core run: a on core 0 is preempted, b spawned on core 1
// wakes a after a's request, a migrates to core 1 and exits.
func sample() Data {
	const a, b = 1, 2
	c0 := []Event{
		{Time: 100, Kind: Spawn, PID: a},
		{Time: 100, Kind: Wakeup, PID: a, Core: Controller},
		{Time: 110, Kind: SwitchIn, PID: a},
		{Time: 120, Kind: MsgSend, Core: 1, Arg: 3},                  // a asks core 1 to run b
		{Time: 130, Kind: Syscall, PID: a, Core: 1, Arg: 20, Why: 6}, // fd_write, 20 ns, EAGAIN
		{Time: 3110, Kind: SwitchOut, PID: a, Why: uint8(Preempted)},
		{Time: 3120, Kind: SwitchIn, PID: a},
		{Time: 3130, Kind: SwitchOut, PID: a, Why: uint8(Request), Arg: 0},                   // a writes to the console
		{Time: 3140, Kind: Wakeup, PID: a, Core: Service(0), Why: ReplyWake, Sub: 1, Arg: 8}, // its reply: EBADF
		{Time: 3150, Kind: SwitchIn, PID: a},
		{Time: 3200, Kind: SwitchOut, PID: a, Why: uint8(Blocked)},
		{Time: 3210, Kind: IdlePoll},
		{Time: 3220, Kind: Balance, Why: uint8(Refuse), Core: 1, Arg: Loads(0, 0)},
		{Time: 3300, Kind: Sleep},
		{Time: 4000, Kind: Awake},
		{Time: 4005, Kind: Balance, Why: uint8(GiveSteal), Core: 1, PID: a, Arg: Loads(1024, 0)},
		{Time: 4010, Kind: MigrateOut, PID: a, Core: 1, Why: uint8(Steal)},
	}
	c1 := []Event{
		{Time: 145, Kind: MsgRecv, Core: 0, Arg: 3},
		{Time: 150, Kind: Spawn, PID: b, Arg: a},
		{Time: 150, Kind: Wakeup, PID: b, Core: 0},
		{Time: 200, Kind: SwitchIn, PID: b},
		{Time: 3490, Kind: ChanSend, PID: b, Core: 1, Sub: 2, Arg: 77}, // b sends a ping.hello
		{Time: 3500, Kind: Wakeup, PID: a, Core: 1},                    // b wakes a (delivered on core 0 in truth; drawn here)
		{Time: 3210, Kind: Balance, Why: uint8(AskSteal), Core: 0, Arg: Loads(1024, 2048)},
		{Time: 3400, Kind: Balance, Why: uint8(GivePush), Core: 0, PID: b, Arg: Loads(2048, 0)},
		{Time: 3600, Kind: SwitchOut, PID: b, Why: uint8(Exited), Arg: 0},
		{Time: 4020, Kind: MigrateIn, PID: a, Core: 0},
		{Time: 4030, Kind: SwitchIn, PID: a},
		{Time: 4040, Kind: ChanRecv, PID: a, Core: 1, Sub: 2, Arg: 77},
		{Time: 4500, Kind: SwitchOut, PID: a, Why: uint8(Exited), Arg: 3},
	}
	return Data{
		Cores:    [][]Event{c0, c1},
		Dropped:  []uint64{0, 0},
		Procs:    []Proc{{PID: a, Name: "spin"}, {PID: b, Parent: a, Nice: 5, Name: "kid"}},
		Names:    [][]string{nil, {"?", "ping", "hello"}},
		Calls:    []string{"sched_yield", "fd_write"},
		Wasted:   [][]Wasted{{{Busy: 1, Start: 3300, End: 4000}}, nil},
		MsgTypes: []string{3: "reply"},
		Services: []ServiceNames{{Name: "console", Ops: []string{"?", "write"}}},
	}
}

// dump writes a decoded trace one event a line, timestamps relative to the
// first (Normalise replaces them where a run's timing varies).
func dump(d *Decoded, normalise bool) string {
	var w strings.Builder
	for _, p := range d.Procs {
		fmt.Fprintf(&w, "proc pid=%d ppid=%d name=%s\n", p.PID, p.Parent, p.Name)
	}
	for c := 0; c < d.CPUs; c++ {
		if d.Lost[c] > 0 {
			fmt.Fprintf(&w, "cpu %d lost=%d\n", c, d.Lost[c])
		}
	}
	var t0 int64 = -1
	for _, r := range d.Records {
		if t0 < 0 {
			t0 = r.Time
		}
		ts := fmt.Sprint(r.Time - t0)
		if normalise {
			ts = "T"
		}
		switch r.Kind {
		case "sched_switch":
			fmt.Fprintf(&w, "cpu %d %s pid=%d sched_switch %s:%d [%d] state=%d ==> %s:%d [%d]\n", r.CPU, ts, r.PID,
				r.PrevComm, r.PrevPID, r.PrevPrio, r.PrevState, r.NextComm, r.NextPID, r.NextPrio)
		case "sched_wakeup", "sched_wakeup_new":
			fmt.Fprintf(&w, "cpu %d %s pid=%d %s %s:%d [%d] target_cpu=%d\n", r.CPU, ts, r.PID, r.Kind, r.Comm, r.WakePID, r.Prio, r.TargetCPU)
		case "cpu_idle":
			fmt.Fprintf(&w, "cpu %d %s pid=%d cpu_idle state=%d\n", r.CPU, ts, r.PID, r.IdleState)
		}
	}
	dumpTracks(&w, d, func(r TrackRecord) string {
		if normalise {
			return "T"
		}
		return fmt.Sprint(r.Time - max(t0, 0))
	})
	return w.String()
}

// dumpTracks writes the trace's track events, one a line, each with the
// name of its track, and its flows.
func dumpTracks(w *strings.Builder, d *Decoded, ts func(TrackRecord) string) {
	for _, r := range d.TrackEvents {
		tr := d.Tracks[r.Track]
		kind := map[int]string{SliceBegin: "begin", SliceEnd: "end", Instant: "instant", Counter: "counter"}[r.Type]
		fmt.Fprintf(w, "track %q %s %s", tr.Name, ts(r), kind)
		if r.Name != "" {
			fmt.Fprintf(w, " %q", r.Name)
		}
		if r.Type == Counter {
			fmt.Fprintf(w, " %d", r.Value)
		}
		if r.Errno != 0 {
			fmt.Fprintf(w, " errno=%d", r.Errno)
		}
		for _, a := range r.Args {
			if a.Name != "errno" {
				fmt.Fprintf(w, " %s=%d", a.Name, a.Value)
			}
		}
		for _, f := range r.Flows {
			fmt.Fprintf(w, " flow=%x", f)
		}
		for _, f := range r.Terms {
			fmt.Fprintf(w, " ends=%x", f)
		}
		w.WriteByte('\n')
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "trace", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestExportDecodesToGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Export(&b, sample()); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.golden", dump(d, false))
	var rep strings.Builder
	Report(&rep, d)
	golden(t, "sample-report.golden", rep.String())
}

func TestExportCarriesDropped(t *testing.T) {
	d := sample()
	d.Dropped[1] = 7
	var b bytes.Buffer
	if err := Export(&b, d); err != nil {
		t.Fatal(err)
	}
	dec, err := Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if dec.Lost[0] != 0 || dec.Lost[1] != 7 {
		t.Fatalf("lost %v, want core 1: 7", dec.Lost)
	}
	var rep strings.Builder
	Report(&rep, dec)
	if !strings.Contains(rep.String(), "core 1: its trace ring overflowed: 7 oldest events dropped") {
		t.Errorf("report:\n%s", rep.String())
	}
}

func TestSummariseDelays(t *testing.T) {
	var b bytes.Buffer
	if err := Export(&b, sample()); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	s := Summarise(d)
	var a TaskStats
	for _, ts := range s.Tasks {
		if ts.PID == 1 {
			a = ts
		}
	}
	// a: woken at 100, in at 110 (10); preempted at 3110, in at 3120 (10);
	// woken by its reply at 3140, in at 3150 (10); woken at 3500, in at
	// 4030 (530).
	if a.Switches != 4 || a.Migrations != 1 || a.Delays != 4 || a.DelayMax != 530 || a.DelaySum != 560 {
		t.Errorf("a: %+v", a)
	}
	if a.DelayMaxAt != 4030-100 {
		t.Errorf("a's longest delay ended at %d ns, want %d", a.DelayMaxAt, 4030-100)
	}
	if a.Runtime != 3000+10+50+470 {
		t.Errorf("a ran %d ns, want %d", a.Runtime, 3000+10+50+470)
	}
	if s.Cores[0].Slept != 700 {
		t.Errorf("core 0 slept %d ns, want 700", s.Cores[0].Slept)
	}
	// The balancers' decisions: core 0 refused a steal and gave a to the
	// thief, core 1 asked and pushed b.
	want := [][maxDecision]int{{Refuse: 1, GiveSteal: 1}, {AskSteal: 1, GivePush: 1}}
	for c, w := range want {
		if s.Cores[c].Decisions != w {
			t.Errorf("core %d's decisions %v, want %v", c, s.Cores[c].Decisions, w)
		}
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	var b bytes.Buffer
	if err := Export(&b, sample()); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	for name, in := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, this is not a trace\n"),
		"truncated": good[:len(good)-5],
		"elf":       []byte("\x7fELF\x02\x01\x01"),
		"huge cpu":  hugeCPU(),
	} {
		if _, err := Decode(in); err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "truncated" && !errors.Is(err, ErrNotTrace) {
			t.Errorf("%s: %v, want ErrNotTrace", name, err)
		}
	}
}

// hugeCPU is a trace whose one bundle names cpu 2⁴⁰.
func hugeCPU() []byte {
	bundle := appendVarint(nil, fBundleCPU, 1<<40)
	pkt := protowire.AppendBytes(protowire.AppendTag(nil, fPacketFtrace, protowire.BytesType), bundle)
	return protowire.AppendBytes(protowire.AppendTag(nil, fTracePacket, protowire.BytesType), pkt)
}

// FuzzDecode: whatever the bytes, Decode returns an error or a trace that
// Report can print; it never panics.
func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	if err := Export(&b, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte("\x0a\x05\x0a\x03\x08\xff\x7f"))
	f.Add([]byte("\x0a\x0c\x0a\x0a\x08\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := Decode(in)
		if err != nil {
			return
		}
		var w strings.Builder
		Report(&w, d)
		// Decoding is a function of its input: the same bytes, the same report.
		d2, err := Decode(in)
		if err != nil {
			t.Fatalf("decoded once, then failed: %v", err)
		}
		var w2 strings.Builder
		Report(&w2, d2)
		if w.String() != w2.String() {
			t.Fatalf("two decodings of one input report differently:\n%s\nthen:\n%s", w.String(), w2.String())
		}
	})
}

// TestRingNameAllocatesOnce: a name the ring knows is found without an
// allocation (a channel message's trace point looks its names up).
func TestRingNameAllocatesOnce(t *testing.T) {
	r := NewRing(8)
	i := r.Name("PingPong")
	if n := testing.AllocsPerRun(1000, func() {
		if r.Name("PingPong") != i {
			t.Fatal("the name moved")
		}
	}); n != 0 {
		t.Fatalf("Name allocates %v times a call for a known name", n)
	}
	if r.Name("?") != 0 || r.Name("Ping") == i {
		t.Fatal("names collide")
	}
}

// TestExportMovesReceiveUpToSend: a channel receive stamped before its
// send (a polling Block's clock reading was old) is drawn at the send; a
// receive after its send keeps its time.
func TestExportMovesReceiveUpToSend(t *testing.T) {
	d := Data{
		Cores: [][]Event{
			{{Time: 500, Kind: ChanSend, PID: 1, Core: 1, Sub: 2, Arg: 7}, {Time: 900, Kind: ChanSend, PID: 1, Core: 1, Sub: 2, Arg: 8}},
			{{Time: 400, Kind: ChanRecv, PID: 2, Core: 1, Sub: 2, Arg: 7}, {Time: 950, Kind: ChanRecv, PID: 2, Core: 1, Sub: 2, Arg: 8}},
		},
		Dropped: []uint64{0, 0},
		Procs:   []Proc{{PID: 1, Name: "a"}, {PID: 2, Name: "b"}},
		Names:   [][]string{{"?", "C", "m"}, {"?", "C", "m"}},
	}
	var b bytes.Buffer
	if err := Export(&b, d); err != nil {
		t.Fatal(err)
	}
	dec, err := Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]int64{}
	for _, r := range dec.TrackEvents {
		if len(r.Terms) == 1 {
			got[r.Terms[0]] = r.Time
		}
	}
	if got[7] != 500 || got[8] != 950 {
		t.Errorf("receives drawn at %v, want flow 7 at 500 (its send), flow 8 at 950", got)
	}
}
