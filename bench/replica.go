package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"isle/internal/kernel"
	"isle/internal/percpu"
	"isle/internal/replica"
	"isle/internal/tables"
)

// Sizes of the replica suite. Every figure comes from a booted machine: the
// cores' own goroutines read their replicas, write and count, started by a
// ticker that watches for the controller's next command, so what is measured
// is what a kernel loop (or a SIP's host function) would see.
const (
	replicaWindow  = 100 * time.Millisecond // one read or count window
	replicaRounds  = 5                      // windows per row, alternating kinds; the best is the figure
	replicaKeys    = 256                    // keys in each table
	replicaWrites  = 300                    // sequential writes per write-latency round
	replicaSloppy  = 64                     // sloppy counter threshold
	replicaTimeout = 30 * time.Second       // for any one command
)

// Environment knobs (Main takes no flags but --json): ISLE_BENCH_CORES is the
// largest machine measured (default: the host's CPUs; more oversubscribes,
// and the suite says so); ISLE_BENCH_PLOT is where the PNG goes (default
// replica.png in the working directory; "-" for none).
const (
	envCores = "ISLE_BENCH_CORES"
	envPlot  = "ISLE_BENCH_PLOT"
)

// Replica is the replica suite: read throughput of a replicated and a shared
// table as the cores grow from 1 to all, write latency of both with the 2PC
// messages per write, and a sloppy counter against an atomic one incremented
// by every core.
func Replica(log io.Writer) ([]Row, error) {
	host := runtime.NumCPU()
	maxCores := host
	if s := os.Getenv(envCores); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 64 {
			return nil, fmt.Errorf("%s=%q: want a number of cores from 1 to 64", envCores, s)
		}
		maxCores = n
	}
	if maxCores > host {
		fmt.Fprintf(log, "replica: up to %d cores on %d host CPUs: oversubscribed, so rows past %d cores share CPUs\n", maxCores, host, host)
	}
	var rows []Row
	var repReads, shReads, repLat, shLat []float64
	for n := 1; n <= maxCores; n++ {
		r, err := replicaRun(n)
		if err != nil {
			return nil, fmt.Errorf("%d cores: %w", n, err)
		}
		sfx := coresSuffix(n)
		rows = append(rows,
			Row{"replicated_reads_per_s_" + sfx, r.repReads, "reads/s"},
			Row{"shared_reads_per_s_" + sfx, r.shReads, "reads/s"},
			Row{"replicated_write_latency_us_" + sfx, r.repLat, "µs"},
			Row{"shared_write_latency_us_" + sfx, r.shLat, "µs"},
			Row{"twopc_messages_per_write_" + sfx, r.msgsPerWrite, "msgs"},
		)
		if n > 1 {
			rows = append(rows,
				Row{"core_message_one_way_us_" + sfx, r.oneWay, "µs"},
				Row{"replicated_read_scaling_" + sfx, r.repReads / (float64(n) * repReads[0]), "× (N × 1-core)"},
				Row{"shared_read_scaling_" + sfx, r.shReads / (float64(n) * shReads[0]), "× (N × 1-core)"},
				// The same ratio against one reader on this machine, its
				// windows alternating with the all-core ones, so that load
				// from outside drifting between machine sizes cancels out.
				Row{"replicated_reads_per_s_1of" + sfx, r.repOne, "reads/s"},
				Row{"shared_reads_per_s_1of" + sfx, r.shOne, "reads/s"},
				Row{"replicated_read_scaling_vs_1of" + sfx, r.repReads / (float64(n) * r.repOne), "× (N × 1 reader)"},
				Row{"shared_read_scaling_vs_1of" + sfx, r.shReads / (float64(n) * r.shOne), "× (N × 1 reader)"},
			)
		}
		rows = append(rows,
			Row{"sloppy_counter_incs_per_s_" + sfx, r.sloppy, "incs/s"},
			Row{"atomic_counter_incs_per_s_" + sfx, r.atomic, "incs/s"},
		)
		if r.repRetries > 0 {
			rows = append(rows, Row{"replicated_write_retries_" + sfx, float64(r.repRetries), "retries"},
				Row{"replicated_write_timeouts_" + sfx, float64(r.repTimeouts), "aborts"})
		}
		repReads, shReads = append(repReads, r.repReads), append(shReads, r.shReads)
		repLat, shLat = append(repLat, r.repLat), append(shLat, r.shLat)
		if n == maxCores {
			rows = append(rows,
				Row{"sloppy_counter_incs_per_s", r.sloppy, "incs/s"},
				Row{"atomic_counter_incs_per_s", r.atomic, "incs/s"},
				Row{"sloppy_over_atomic", r.sloppy / r.atomic, "×"},
				Row{"counter_cores", float64(n), "cores"},
				Row{"host_cpus", float64(host), "cpus"},
			)
		}
	}
	path := os.Getenv(envPlot)
	if path == "" {
		path = "replica.png"
	}
	if path != "-" {
		if err := replicaPlot(path, repReads, shReads, repLat, shLat); err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		fmt.Fprintf(log, "replica: plot written to %s\n", path)
	}
	return rows, nil
}

func coresSuffix(n int) string {
	if n == 1 {
		return "1core"
	}
	return fmt.Sprintf("%dcores", n)
}

// replicaResult is one machine size's figures.
type replicaResult struct {
	repReads, shReads float64 // reads/s, all cores
	repOne, shOne     float64 // reads/s, core 0 alone, windows alternating with the above
	repLat, shLat     float64 // µs per write, one writer
	msgsPerWrite      float64
	timerMsgs         uint64  // messages a tick sent (re-sends under load, queries)
	oneWay            float64 // µs: one kernel message between cores 0 and 1 (the 2PC's unit of latency)
	repRetries        uint64
	repTimeouts       uint64
	sloppy, atomic    float64 // increments/s, all cores
}

// The controller's commands to the cores.
const (
	cmdReadReplicated = iota + 1
	cmdReadShared
	cmdWriteReplicated
	cmdWriteShared
	cmdSloppy
	cmdAtomic
	cmdFill
	cmdReadReplicatedOne // core 0 alone reads: the 1-core base of the scaling rows, on the same machine
	cmdReadSharedOne
)

// command is what every core does next: it runs once per core, on the core's
// goroutine, when the core's bench ticker sees a seq it has not run.
type command struct {
	seq          int64
	op           int
	start, until int64 // machine time at which a window starts and ends
}

// slot is a core's answer to a command, padded to its own cache line.
type slot struct {
	v atomic.Int64
	_ [percpu.CacheLine - 8]byte
}

// replicaMachine is a booted machine with one replicated and one shared
// table, and the per-core machinery that runs commands.
type replicaMachine struct {
	m      *kernel.Machine
	rep    *tables.Table[int64]
	sh     *tables.Table[int64]
	keys   []string
	cmd    atomic.Pointer[command]
	done   atomic.Int64
	out    []slot
	sloppy *percpu.Sloppy
	atomic *percpu.Sloppy // threshold 1: every increment to the shared value
	sink   []slot
}

func replicaRun(n int) (replicaResult, error) {
	var res replicaResult
	rm := &replicaMachine{
		rep:    tables.NewTable[int64]("bench-replicated", tables.Replicated, n),
		sh:     tables.NewTable[int64]("bench-shared", tables.Shared, n),
		out:    make([]slot, n),
		sink:   make([]slot, n),
		sloppy: percpu.NewSloppy(n, replicaSloppy),
		atomic: percpu.NewSloppy(n, 1),
	}
	for i := range replicaKeys {
		rm.keys = append(rm.keys, fmt.Sprintf("pid/%d", i))
	}
	m, err := kernel.New(kernel.Config{Cores: n, Init: []func(*kernel.Core){rm.init}})
	if err != nil {
		return res, err
	}
	rm.m = m
	prev := runtime.GOMAXPROCS(n + 1)
	defer runtime.GOMAXPROCS(prev)
	if err := m.Boot(); err != nil {
		return res, err
	}
	defer m.Stop()
	if _, err := rm.run(cmdFill, 0); err != nil {
		return res, err
	}
	if err := rm.reads(&res); err != nil {
		return res, err
	}
	if err := rm.writes(&res, n); err != nil {
		return res, err
	}
	return res, rm.counters(&res)
}

// reads measures reads of every key and of one key, replicated and shared.
func (rm *replicaMachine) reads(res *replicaResult) error {
	for range replicaRounds {
		runtime.GC()
		for _, op := range []int{cmdReadReplicated, cmdReadShared, cmdReadReplicatedOne, cmdReadSharedOne} {
			per, err := rm.run(op, replicaWindow)
			if err != nil {
				return err
			}
			v := sum(per) / replicaWindow.Seconds()
			switch op {
			case cmdReadReplicated:
				res.repReads = max(res.repReads, v)
			case cmdReadShared:
				res.shReads = max(res.shReads, v)
			case cmdReadReplicatedOne:
				res.repOne = max(res.repOne, v)
			case cmdReadSharedOne:
				res.shOne = max(res.shOne, v)
			}
		}
	}
	return nil
}

// writes measures a write's latency, replicated (2PC) and shared, and the
// 2PC's messages per write beside a kernel message's one-way time.
func (rm *replicaMachine) writes(res *replicaResult, n int) error {
	before := rm.rep.Counts()
	res.repLat, res.shLat = 1e18, 1e18
	for range replicaRounds {
		for _, op := range []int{cmdWriteReplicated, cmdWriteShared} {
			per, err := rm.run(op, 0)
			if err != nil {
				return err
			}
			us := float64(per[0]) / 1e3 / replicaWrites
			if op == cmdWriteReplicated {
				res.repLat = min(res.repLat, us)
			} else {
				res.shLat = min(res.shLat, us)
			}
		}
	}
	time.Sleep(20 * time.Millisecond) // the last acks
	if n > 1 {
		// The baseline of a 2PC round: a kernel message between two cores
		// (a round is Prepare out and Vote back before the decision).
		d, err := rm.m.PingPong(0, 1, replicaWrites)
		if err != nil {
			return err
		}
		res.oneWay = float64(d) / 1e3
	}
	after := rm.rep.Counts()
	if w := after.Committed - before.Committed; w > 0 {
		res.msgsPerWrite = float64(after.Messages-before.Messages) / float64(w)
		res.timerMsgs = after.ByTimer - before.ByTimer
	}
	res.repRetries = after.Retries - before.Retries
	res.repTimeouts = after.Timeouts - before.Timeouts
	if after.Aborted != 0 {
		return fmt.Errorf("%d replicated writes aborted after %d attempts", after.Aborted, tables.MaxAttempts)
	}
	return nil
}

// counters has every core increment the sloppy counter, then the atomic
// one, and checks both totals.
func (rm *replicaMachine) counters(res *replicaResult) error {
	var sloppyTotal, atomicTotal int64
	for range replicaRounds {
		for _, op := range []int{cmdSloppy, cmdAtomic} {
			per, err := rm.run(op, replicaWindow)
			if err != nil {
				return err
			}
			v := sum(per) / replicaWindow.Seconds()
			if op == cmdSloppy {
				res.sloppy = max(res.sloppy, v)
				sloppyTotal += int64(sum(per))
			} else {
				res.atomic = max(res.atomic, v)
				atomicTotal += int64(sum(per))
			}
		}
	}
	if got := rm.sloppy.Sum(); got != sloppyTotal {
		return fmt.Errorf("sloppy counter sums to %d after %d increments", got, sloppyTotal)
	}
	if got := rm.atomic.Value(); got != atomicTotal {
		return fmt.Errorf("atomic counter is %d after %d increments", got, atomicTotal)
	}
	return nil
}

func sum(v []int64) float64 {
	t := 0.0
	for _, x := range v {
		t += float64(x)
	}
	return t
}

// run gives every core the command op (a window of d when it counts) and
// returns each core's answer.
func (rm *replicaMachine) run(op int, d time.Duration) ([]int64, error) {
	n := len(rm.out)
	prev := rm.cmd.Load()
	seq := int64(1)
	if prev != nil {
		seq = prev.seq + 1
	}
	rm.done.Store(0)
	start := rm.m.Now() + int64(2*time.Millisecond) // every core starts at once, wherever its ticker is
	rm.cmd.Store(&command{seq: seq, op: op, start: start, until: start + int64(d)})
	deadline := time.Now().Add(replicaTimeout)
	for rm.done.Load() < int64(n) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("command %d: %d of %d cores answered", op, rm.done.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = rm.out[i].v.Load()
	}
	return out, nil
}

// init runs on each core's goroutine before its loop: the tables' replicas
// and ticker, and the bench ticker that runs the controller's commands.
func (rm *replicaMachine) init(c *kernel.Core) {
	tables.Start(c, rm.rep, rm.sh)
	last := int64(0)
	c.Every(500*time.Microsecond, func(int64) bool {
		cmd := rm.cmd.Load()
		if cmd == nil || cmd.seq == last {
			return true // the controller is about to send one: stay awake
		}
		last = cmd.seq
		rm.exec(c, cmd)
		return true
	})
}

// exec runs cmd on core c; it answers by storing into out[c] and counting done.
func (rm *replicaMachine) exec(c *kernel.Core, cmd *command) {
	id := c.ID()
	answer := func(v int64) {
		rm.out[id].v.Store(v)
		rm.done.Add(1)
	}
	now := c.Machine().Now
	for now() < cmd.start {
		// every core starts the window at once (at most 2 ms from now)
	}
	switch cmd.op {
	case cmdFill:
		if id != 0 {
			answer(0)
			return
		}
		rm.fill(c, 0, answer)
	case cmdReadReplicated, cmdReadShared, cmdReadReplicatedOne, cmdReadSharedOne:
		one := cmd.op == cmdReadReplicatedOne || cmd.op == cmdReadSharedOne
		if one && id != 0 {
			answer(0)
			return
		}
		answer(rm.readFor(c, cmd))
	case cmdSloppy, cmdAtomic:
		ctr := rm.sloppy
		if cmd.op == cmdAtomic {
			ctr = rm.atomic
		}
		var count int64
		for now() < cmd.until {
			for range 64 {
				ctr.Inc(id)
			}
			count += 64
		}
		answer(count)
	case cmdWriteShared:
		if id != 0 {
			answer(0)
			return
		}
		t0 := time.Now()
		for i := range replicaWrites {
			rm.sh.Put(c, rm.keys[i&(len(rm.keys)-1)], int64(i), nil)
		}
		answer(int64(time.Since(t0)))
	case cmdWriteReplicated:
		if id != 0 {
			answer(0)
			return
		}
		rm.writeReplicated(c, answer)
	}
}

// readFor reads keys of the command's table on core c until the window
// ends, and returns how many it read.
func (rm *replicaMachine) readFor(c *kernel.Core, cmd *command) int64 {
	id, now := c.ID(), c.Machine().Now
	tb := rm.rep
	if cmd.op == cmdReadShared || cmd.op == cmdReadSharedOne {
		tb = rm.sh
	}
	mask := len(rm.keys) - 1
	var count, acc int64
	for i := id * 7; now() < cmd.until; {
		for range 64 {
			v, _ := tb.Get(c, rm.keys[i&mask])
			acc += v
			i++
		}
		count += 64
	}
	rm.sink[id].v.Store(acc)
	return count
}

// writeReplicated makes replicaWrites replicated writes from core c, each
// after the last one's decision, and answers with the time they took.
func (rm *replicaMachine) writeReplicated(c *kernel.Core, answer func(int64)) {
	t0 := time.Now()
	i := 0
	var next func(o replica.Outcome)
	next = func(o replica.Outcome) {
		for {
			if o != replica.Pending && o != replica.Committed {
				panic(fmt.Sprintf("bench: replicated write ended %v", o))
			}
			if i == replicaWrites {
				answer(int64(time.Since(t0)))
				return
			}
			i++
			o = rm.rep.Put(c, rm.keys[i&(len(rm.keys)-1)], int64(i), next)
			if o == replica.Pending {
				return // next runs again on the decision
			}
		}
	}
	next(replica.Committed)
}

// fill writes every key into both tables from core c, one write at a time.
func (rm *replicaMachine) fill(c *kernel.Core, i int, answer func(int64)) {
	for ; i < len(rm.keys); i++ {
		rm.sh.Put(c, rm.keys[i], int64(i), nil)
		j := i
		o := rm.rep.Put(c, rm.keys[i], int64(i), func(o replica.Outcome) {
			if o != replica.Committed {
				panic(fmt.Sprintf("bench: fill write ended %v", o))
			}
			rm.fill(c, j+1, answer)
		})
		if o == replica.Pending {
			return
		}
	}
	answer(0)
}

// replicaPlot draws read throughput and write latency against cores.
func replicaPlot(path string, repReads, shReads, repLat, shLat []float64) error {
	line := func(p *plot.Plot, name string, ys []float64, i int) error {
		pts := make(plotter.XYs, len(ys))
		for j, y := range ys {
			pts[j].X, pts[j].Y = float64(j+1), y
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		s.Color = plotutil.Color(i)
		s.Shape = draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
		return nil
	}
	reads := plot.New()
	reads.Title.Text = "isle bench replica: reads on every core"
	reads.X.Label.Text = "cores"
	reads.Y.Label.Text = "million reads/s (all cores)"
	reads.Legend.Top = true
	reads.Legend.Left = true
	writes := plot.New()
	writes.Title.Text = "write latency, one writer"
	writes.X.Label.Text = "cores"
	writes.Y.Label.Text = "µs per write"
	writes.Legend.Top = true
	writes.Legend.Left = true
	scale := func(v []float64) []float64 {
		o := make([]float64, len(v))
		for i, x := range v {
			o[i] = x / 1e6
		}
		return o
	}
	ideal := make([]float64, len(repReads))
	for i := range ideal {
		ideal[i] = float64(i+1) * repReads[0]
	}
	for _, e := range []error{
		line(reads, "replicated", scale(repReads), 0),
		line(reads, "shared (COW)", scale(shReads), 1),
		line(reads, "N × replicated 1-core", scale(ideal), 2),
		line(writes, "replicated (2PC)", repLat, 0),
		line(writes, "shared (COW)", shLat, 1),
	} {
		if e != nil {
			return e
		}
	}
	var ticks []plot.Tick
	for i := range repReads {
		ticks = append(ticks, plot.Tick{Value: float64(i + 1), Label: strconv.Itoa(i + 1)})
	}
	for _, p := range []*plot.Plot{reads, writes} {
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min = 0.5
		p.X.Max = float64(len(repReads)) + 0.5
		p.Y.Min = 0
	}
	img := vgimg.New(16*vg.Centimeter, 20*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{reads}, {writes}}, tiles, dc)
	reads.Draw(canvases[0][0])
	writes.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
