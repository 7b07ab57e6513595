package trace

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Report is `isle trace`: a decoded trace summarised in the columns of
// `perf sched latency` (per SIP: run time, switches, average and maximum
// scheduling delay), with the migrations, and each core's busy and idle
// time and its balancer's decisions (steal requests sent, refusals sent,
// pushes, SIPs given to a thief), so that a result can be laid beside
// Linux's own tools.
//
// Scheduling delay, as perf's: from the moment a SIP becomes runnable (a
// wake-up, or a switch out that leaves it runnable: preempted or yielded) to
// the moment it next switches in.

// TaskStats are one SIP's figures.
type TaskStats struct {
	PID        int64
	Name       string
	Runtime    int64 // ns on a core
	Switches   int   // times switched in
	Migrations int   // switches in on another core than the last
	Delays     int   // delays measured
	DelaySum   int64
	DelayMax   int64
	DelayMaxAt int64 // when the longest delay ended (its switch in), ns from the trace's start
}

// CoreTime is one core's figures over the trace's span.
type CoreTime struct {
	CPU   int
	Busy  int64 // ns running SIPs
	Idle  int64 // ns not running one
	Slept int64 // ns of the idle time asleep on the doorbell (the rest polled)
	// Decisions: its balancer's decisions, by Decision (steal requests,
	// refusals, pushes, steals given).
	Decisions [maxDecision]int
}

// Summary is what Report prints.
type Summary struct {
	Span  int64 // ns from the first event to the last
	Tasks []TaskStats
	Cores []CoreTime
	Lost  map[int]uint64
}

type taskState struct {
	TaskStats
	in      int64 // switched in at (on cpu), or -1
	cpu     int
	ready   int64 // runnable since, or -1
	lastCPU int
}

// summariser is Summarise's state as it walks the records in time order.
type summariser struct {
	s          Summary
	first      int64
	tasks      map[int64]*taskState
	sleepSince []int64 // by core: asleep on its doorbell since, or -1
}

// Summarise computes the report's figures.
func Summarise(d *Decoded) Summary {
	recs := append([]Record(nil), d.Records...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time < recs[j].Time })
	x := &summariser{s: Summary{Lost: d.Lost, Cores: make([]CoreTime, d.CPUs)}, tasks: map[int64]*taskState{},
		sleepSince: make([]int64, d.CPUs)}
	x.decisions(d)
	if len(recs) == 0 {
		return x.s
	}
	x.first = recs[0].Time
	last := recs[len(recs)-1].Time
	x.s.Span = last - x.first
	for i := range x.sleepSince {
		x.sleepSince[i] = -1
	}
	for _, r := range recs {
		switch r.Kind {
		case "sched_wakeup", "sched_wakeup_new":
			if t := x.task(r.WakePID); t.in < 0 && t.ready < 0 {
				t.ready = r.Time
			}
		case "sched_switch":
			x.switched(r)
		case "cpu_idle":
			x.idle(r)
		}
	}
	x.finish(d, last)
	return x.s
}

func (x *summariser) task(pid int64) *taskState {
	t, ok := x.tasks[pid]
	if !ok {
		t = &taskState{TaskStats: TaskStats{PID: pid}, in: -1, ready: -1, lastCPU: -1}
		x.tasks[pid] = t
	}
	return t
}

// switched accounts a sched_switch: the run that ends, the scheduling
// delay that ends.
func (x *summariser) switched(r Record) {
	if r.PrevPID != 0 {
		t := x.task(r.PrevPID)
		if t.in >= 0 {
			t.Runtime += r.Time - t.in
			x.s.Cores[r.CPU].Busy += r.Time - t.in
		}
		t.in = -1
		if r.PrevState == stateRunnable {
			t.ready = r.Time
		}
	}
	if r.NextPID == 0 {
		return
	}
	t := x.task(r.NextPID)
	t.in, t.cpu = r.Time, r.CPU
	t.Switches++
	if t.lastCPU >= 0 && t.lastCPU != r.CPU {
		t.Migrations++
	}
	t.lastCPU = r.CPU
	if t.ready >= 0 {
		delay := r.Time - t.ready
		t.Delays++
		t.DelaySum += delay
		if delay > t.DelayMax || t.Delays == 1 {
			t.DelayMax, t.DelayMaxAt = delay, r.Time-x.first
		}
		t.ready = -1
	}
}

// idle accounts a cpu_idle: a core's sleep on its doorbell.
func (x *summariser) idle(r Record) {
	if r.IdleState != idleExit {
		x.sleepSince[r.CPU] = r.Time
		return
	}
	if x.sleepSince[r.CPU] >= 0 {
		x.s.Cores[r.CPU].Slept += r.Time - x.sleepSince[r.CPU]
	}
	x.sleepSince[r.CPU] = -1
}

// decisions counts the balancers' decisions: the instants with a
// "decision" annotation on the cores' tracks.
func (x *summariser) decisions(d *Decoded) {
	for _, r := range d.TrackEvents {
		v, ok := r.Arg("decision")
		var c int
		if !ok || v <= 0 || v >= int64(maxDecision) || !strings.HasPrefix(r.Name, BalancePrefix) {
			continue
		}
		if _, err := fmt.Sscanf(d.Tracks[r.Track].Name, "core %d", &c); err == nil && c >= 0 && c < len(x.s.Cores) {
			x.s.Cores[c].Decisions[v]++
		}
	}
}

// finish closes the runs and sleeps still open at the trace's end, and
// orders the SIPs by run time.
func (x *summariser) finish(d *Decoded, last int64) {
	s := &x.s
	for _, t := range x.tasks {
		if t.in >= 0 { // still running at the end of the trace
			t.Runtime += last - t.in
			s.Cores[t.cpu].Busy += last - t.in
		}
	}
	for c := range s.Cores {
		s.Cores[c].CPU = c
		s.Cores[c].Idle = s.Span - s.Cores[c].Busy
		if x.sleepSince[c] >= 0 {
			s.Cores[c].Slept += last - x.sleepSince[c]
		}
	}
	names := map[int64]string{}
	for _, p := range d.Procs {
		names[p.PID] = p.Name
	}
	for _, t := range x.tasks {
		t.Name = names[t.PID]
		s.Tasks = append(s.Tasks, t.TaskStats)
	}
	sort.Slice(s.Tasks, func(i, j int) bool {
		if s.Tasks[i].Runtime != s.Tasks[j].Runtime {
			return s.Tasks[i].Runtime > s.Tasks[j].Runtime
		}
		return s.Tasks[i].PID < s.Tasks[j].PID
	})
}

func ms(ns int64) string { return fmt.Sprintf("%.3f", float64(ns)/1e6) }

// Report writes the summary of d.
func Report(w io.Writer, d *Decoded) {
	s := Summarise(d)
	line := strings.Repeat("-", 121)
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, " %-26s | %13s | %9s | %10s | %15s | %15s | %17s |\n", "Task", "Runtime ms", "Switches", "Migrations", "Avg delay ms", "Max delay ms", "Max delay at ms")
	fmt.Fprintln(w, line)
	var run int64
	switches := 0
	for _, t := range s.Tasks {
		avg := int64(0)
		if t.Delays > 0 {
			avg = t.DelaySum / int64(t.Delays)
		}
		name := fmt.Sprintf("%s:%d", t.Name, t.PID)
		fmt.Fprintf(w, " %-26s | %13s | %9d | %10d | avg: %10s | max: %10s | max at: %9s |\n", name, ms(t.Runtime), t.Switches, t.Migrations, ms(avg), ms(t.DelayMax), ms(t.DelayMaxAt))
		run += t.Runtime
		switches += t.Switches
	}
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, " %-26s | %13s | %9d |\n", "TOTAL:", ms(run), switches)
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "\n span %s ms\n", ms(s.Span))
	fmt.Fprintf(w, " %-6s | %12s | %12s | %12s | %12s | %6s | %9s | %8s | %6s | %6s\n", "core", "busy ms", "idle ms", "polling ms", "sleeping ms", "busy %",
		"steal req", "refusals", "pushes", "given")
	for _, c := range s.Cores {
		pct := 0.0
		if s.Span > 0 {
			pct = 100 * float64(c.Busy) / float64(s.Span)
		}
		n := c.Decisions
		fmt.Fprintf(w, " %-6d | %12s | %12s | %12s | %12s | %6.1f | %9d | %8d | %6d | %6d\n", c.CPU, ms(c.Busy), ms(c.Idle), ms(max(c.Idle-c.Slept, 0)), ms(c.Slept), pct,
			n[AskSteal], n[Refuse], n[GivePush], n[GiveSteal])
	}
	for c := 0; c < len(s.Cores); c++ {
		if n := s.Lost[c]; n > 0 {
			fmt.Fprintf(w, " core %d: its trace ring overflowed: %d oldest events dropped\n", c, n)
		}
	}
}
