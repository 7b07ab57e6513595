package isle_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
	"isle/internal/trace"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/trace/*.golden")

// traceRun runs testdata/trace/yield.c on one core with tracing on and
// returns the decoded trace.
func traceRun(t *testing.T, events int) *trace.Decoded {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "trace", "yield.c"))
	if err != nil {
		t.Fatal(err)
	}
	// Under a name of its own: the trace names the SIP by its program.
	wasm, err := os.ReadFile(testprog.C(t, string(src)))
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(t.TempDir(), "yield.wasm")
	if err := os.WriteFile(prog, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	var tr, out bytes.Buffer
	// No preemption, and a slice of a minute: a slice that a loaded host
	// stretches past its end would add a switch (a preemption, or a yield
	// that goes through the loop: 1 in 60 runs at load 7 with the default
	// 3 ms), and the golden file wants the same run each time.
	cfg := config().WithCores(1).WithPreemption(false).WithStdio(strings.NewReader(""), &out, &out).WithTrace(&tr, events).WithTraceCalls(true)
	cfg = isle.WithSliceForTest(cfg, time.Minute)
	st, _, err := isle.Run(context.Background(), cfg, prog, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status() != 3 || out.String() != "traced\n" {
		t.Fatalf("status %d, output %q", st.Status(), out.String())
	}
	d, err := trace.Decode(tr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// schedText is the trace's scheduling events, one a line, without their
// timestamps (a run's timing varies; its order of events does not). The
// idle events are left out: whether an idle core sleeps or only polls
// depends on how fast the console answers.
func schedText(d *trace.Decoded) string {
	var w strings.Builder
	for _, p := range d.Procs {
		fmt.Fprintf(&w, "proc pid=%d ppid=%d name=%s\n", p.PID, p.Parent, p.Name)
	}
	var last int64
	for _, r := range d.Records {
		if r.Time < last {
			fmt.Fprintf(&w, "OUT OF ORDER: %d after %d\n", r.Time, last)
		}
		last = r.Time
		switch r.Kind {
		case "sched_switch":
			fmt.Fprintf(&w, "cpu %d pid=%d sched_switch %s:%d [%d] state=%d ==> %s:%d [%d]\n", r.CPU, r.PID,
				r.PrevComm, r.PrevPID, r.PrevPrio, r.PrevState, r.NextComm, r.NextPID, r.NextPrio)
		case "sched_wakeup":
			fmt.Fprintf(&w, "cpu %d pid=%d sched_wakeup %s:%d [%d] target_cpu=%d\n", r.CPU, r.PID, r.Comm, r.WakePID, r.Prio, r.TargetCPU)
		}
	}
	// The SIP's track: its system calls as slices, in order. The cores'
	// urpc messages and messages per second depend on how fast the
	// console answers, and are left out with the idle events. Each track
	// is written whole, tracks in name order: events of two tracks stamped
	// alike (a reply's wake-up and the run queue it lengthens) may come in
	// either order between runs, while each track's own order is the run's.
	byTrack := map[string][]string{}
	for _, r := range d.TrackEvents {
		tr := d.Tracks[r.Track]
		if tr.PID == 0 && !strings.HasSuffix(tr.Name, "run queue") {
			continue
		}
		var line string
		switch r.Type {
		case trace.SliceBegin:
			line = fmt.Sprintf("track %s: %s errno=%d\n", tr.Name, r.Name, r.Errno)
		case trace.SliceEnd:
			line = fmt.Sprintf("track %s: end\n", tr.Name)
		case trace.Counter:
			line = fmt.Sprintf("track %s: %d\n", tr.Name, r.Value)
		default:
			line = fmt.Sprintf("track %s: %s\n", tr.Name, r.Name)
		}
		byTrack[tr.Name] = append(byTrack[tr.Name], line)
	}
	names := make([]string, 0, len(byTrack))
	for n := range byTrack {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, line := range byTrack[n] {
			w.WriteString(line)
		}
	}
	return w.String()
}

func TestTraceOfADeterministicRun(t *testing.T) {
	d := traceRun(t, 0)
	got := schedText(d)
	path := filepath.Join("testdata", "trace", "yield.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("trace differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
	if len(d.Lost) != 0 {
		t.Errorf("events lost: %v", d.Lost)
	}
	// Idle events pair up: every sleep ends before the next begins.
	asleep := false
	for _, r := range d.Records {
		if r.Kind != "cpu_idle" {
			continue
		}
		enter := r.IdleState != 4294967295
		if enter == asleep {
			t.Fatalf("cpu_idle state %d while asleep=%v", r.IdleState, asleep)
		}
		asleep = enter
	}
	// Two switches in: at the start and after the console's reply. Its
	// three yields, alone on the core, keep it running (docs/kernel.md, "A
	// yield is served on the yielder's coroutine"): they are in the trace
	// as system calls only.
	s := trace.Summarise(d)
	if len(s.Tasks) != 1 || s.Tasks[0].Switches != 2 || s.Tasks[0].Runtime <= 0 || s.Tasks[0].Runtime > s.Span {
		t.Errorf("summary: %+v (span %d)", s.Tasks, s.Span)
	}
}

func TestTraceRingOverflowIsCounted(t *testing.T) {
	d := traceRun(t, 4)
	if d.Lost[0] == 0 {
		t.Fatalf("a 4-event ring lost nothing: %v", d.Lost)
	}
	var rep strings.Builder
	trace.Report(&rep, d)
	if want := fmt.Sprintf("core 0: its trace ring overflowed: %d oldest events dropped", d.Lost[0]); !strings.Contains(rep.String(), want) {
		t.Errorf("report does not say %q:\n%s", want, rep.String())
	}
}

// TestTraceChannelFlows: a traced ping-pong between SIPs on two cores
// (examples/pingpong's C server and client) draws each channel message as
// a send on the sender's track and a receive on the receiver's, joined by
// one flow id; the messages' contract and names are PingPong's; the
// system calls are slices on each SIP's track with WithTraceCalls, and
// absent without it.
func TestTraceChannelFlows(t *testing.T) {
	for _, calls := range []bool{true, false} {
		t.Run(fmt.Sprintf("calls=%v", calls), func(t *testing.T) { traceChannelFlows(t, calls) })
	}
}

func traceChannelFlows(t *testing.T, traceCalls bool) {
	root := testprog.Root(t)
	build := func(name string) string {
		out := filepath.Join(t.TempDir(), name+".wasm")
		testprog.CFile(t, filepath.Join(root, "examples", "pingpong", "c", name+".c"), out,
			"-I", filepath.Join(root, "guest", "c"), "-I", filepath.Join(root, "examples", "pingpong", "c"))
		return out
	}
	var tr, out bytes.Buffer
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(strings.NewReader(""), &out, &out).WithTrace(&tr, 0).WithTraceCalls(traceCalls))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := m.Load(ctx, build("server"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := m.Load(ctx, build("client"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.SpawnOn(sp, []string{"server", "1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.SpawnOn(cp, []string{"client", "5", "0"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(); st.Status() != 0 {
		t.Fatalf("client: %+v; output %s", st, out.String())
	}
	s.Wait()
	m.Stop(ctx)
	d, err := trace.Decode(tr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sends := map[uint64]trace.TrackRecord{}
	names := map[string]int{}
	calls := map[int64]int{}
	for _, r := range d.TrackEvents {
		tk := d.Tracks[r.Track]
		// A SIP's slices are its system calls, and its requests to
		// services (the console's writes), which name the service.
		if _, req := r.Arg("service"); r.Type == trace.SliceBegin && tk.PID != 0 && !req {
			calls[tk.PID]++
		}
		if len(r.Flows) == 1 && strings.HasPrefix(r.Name, "send ") {
			sends[r.Flows[0]] = r
		}
	}
	matched := 0
	for _, r := range d.TrackEvents {
		// A connection is made by a lookup, not sent: its receive
		// (isle_Listener.Connect) begins no flow.
		if len(r.Terms) != 1 || !strings.HasPrefix(r.Name, "recv ") || strings.HasSuffix(r.Name, ".Connect") {
			continue
		}
		snd, ok := sends[r.Terms[0]]
		if !ok {
			t.Errorf("%q at %d ends flow %x, which no send began", r.Name, r.Time, r.Terms[0])
			continue
		}
		from, to := d.Tracks[snd.Track].PID, d.Tracks[r.Track].PID
		if from == to || from == 0 || to == 0 || strings.TrimPrefix(snd.Name, "send ") != strings.TrimPrefix(r.Name, "recv ") || snd.Time > r.Time {
			t.Errorf("flow %x: %q by %d at %d, %q by %d at %d", r.Terms[0], snd.Name, from, snd.Time, r.Name, to, r.Time)
		}
		names[r.Name]++
		matched++
	}
	// Five pings and pongs, the quit.
	if names["recv PingPong.Ping"] != 5 || names["recv PingPong.Pong"] != 5 || matched < 11 {
		t.Errorf("%d messages joined by flows, by name %v", matched, names)
	}
	if traceCalls && (calls[s.PID()] == 0 || calls[c.PID()] == 0) || !traceCalls && len(calls) != 0 {
		t.Errorf("system-call slices by pid: %v", calls)
	}
}

// TestTrace2PCRounds: with the process table replicated on two cores, a
// spawn's row is written by 2PC, and the trace has the round on the
// cores' tracks: the coordinator's propose and prepare, the other core's
// yes vote, and the decision.
func TestTrace2PCRounds(t *testing.T) {
	var tr, out bytes.Buffer
	cfg := config().WithCores(2).WithOversubscribe(true).WithTables(isle.TablesConfig{isle.TableProcs: isle.TableReplicated}).
		WithStdio(strings.NewReader(""), &out, &out).WithTrace(&tr, 0)
	if _, _, err := isle.Run(context.Background(), cfg, testdataC(t, "printenv"), nil); err != nil {
		t.Fatal(err)
	}
	d, err := trace.Decode(tr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	for _, r := range d.TrackEvents {
		for _, step := range []string{"propose procs tx ", "prepare procs tx ", "vote yes procs tx ", "decided commit procs tx ", "commit procs tx "} {
			if strings.HasPrefix(r.Name, step) {
				steps[step] = true
			}
		}
	}
	if len(steps) != 5 {
		t.Errorf("2PC steps in the trace: %v, want propose, prepare, vote yes, commit and the decision", steps)
	}
}

// TestTraceBalancerDecisions: two spinners started on core 0 of a
// two-core machine. The balancers move one to core 1, by a push of core 0
// or by a steal that idle core 1 asks for (which comes first depends on
// timing): the trace has the decision on core 0's track with the loads it
// compared (its own against idle core 1's), then the spinner's migration
// for that reason, and isle trace's report counts the decision.
func TestTraceBalancerDecisions(t *testing.T) {
	spin := testprog.C(t, `
#include <time.h>
int main(void) {
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	volatile unsigned long n = 0;
	do {
		for (int i = 0; i < 100000; i++)
			n++;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 40000000L);
	return 0;
}`)
	var tr, out bytes.Buffer
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(strings.NewReader(""), &out, &out).WithTrace(&tr, 0))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, spin)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*isle.Process
	for range 2 {
		p, err := m.SpawnOn(prog, []string{"spin"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("spinner: %+v; output %s", st, out.String())
		}
	}
	m.Stop(ctx)
	d, err := trace.Decode(tr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var gave trace.Decision
	var gift int64
	for _, r := range d.TrackEvents {
		dec, ok := r.Arg("decision")
		if !ok || d.Tracks[r.Track].Name != "core 0" || gave != 0 {
			continue
		}
		load, _ := r.Arg("load")
		peer, _ := r.Arg("peer_load")
		pid, _ := r.Arg("pid")
		if k := trace.Decision(dec); (k == trace.GivePush || k == trace.GiveSteal) && load > peer && pid > 0 && strings.Contains(r.Name, " to core 1") {
			gave, gift = k, r.Time
		}
	}
	if gave == 0 {
		t.Fatalf("core 0's balancer gave core 1 no spinner:\n%s", balanceLines(d))
	}
	why := map[trace.Decision]string{trace.GivePush: "push", trace.GiveSteal: "steal"}[gave]
	migrated := false
	for _, r := range d.TrackEvents {
		migrated = migrated || r.Name == "migrate core 0 -> 1 ("+why+")" && r.Time >= gift
	}
	if !migrated {
		t.Errorf("no migration (%s) after the decision at %d", why, gift)
	}
	if s := trace.Summarise(d); s.Cores[0].Decisions[gave] == 0 {
		t.Errorf("the report's decisions: %+v", s.Cores)
	}
	var rep strings.Builder
	trace.Report(&rep, d)
	if !strings.Contains(rep.String(), "steal req") {
		t.Errorf("the report has no balancer columns:\n%s", rep.String())
	}
}

func balanceLines(d *trace.Decoded) string {
	var b strings.Builder
	for _, r := range d.TrackEvents {
		if strings.HasPrefix(r.Name, trace.BalancePrefix) {
			fmt.Fprintf(&b, "%s: %s %v\n", d.Tracks[r.Track].Name, r.Name, r.Args)
		}
	}
	return b.String()
}
