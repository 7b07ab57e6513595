package sched

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestBalancerScripts replays testdata/balance-*.txt: each line is an input
// to one core's Balancer, followed by what it asked for (its Ready, which
// the script then performs: a migrated entity leaves the core's queue) as
// lines starting with "> ". Run with -update to rewrite the outputs after a
// deliberate change of policy.
//
//	balancer CORE cores=N [cap=C] [tick=DUR] [push=DUR] [maxage=DUR]
//	                                      the core under test (peers: all others)
//	queue NAME [nice=N] [ran=DUR]         an entity in the core's queue, charged DUR
//	leave NAME                            it leaves the queue (blocks, exits)
//	expect W                              the core's Expecting weight from now on
//	summary CORE FIELDS                   a peer's summary arrives
//	tick NOW                              Tick, if Due (else prints "not due")
//	idle NOW | sleeping NOW               the core ran out of work / is about to sleep
//	ran                                   the core ran an entity
//	steal-request CORE FIELDS             a thief's request, with its summary
//	busy-victim CORE FIELDS               the same while the core cannot give (q nil)
//	refused CORE FIELDS                   a victim's refusal, with its summary
//	arrived CORE                          an entity came from CORE
//	place NOW W PREV                      prints the core Place chooses
//	seen CORE                             prints the balancer's copy of CORE's summary
//
// FIELDS: runnable=N weight=W cap=C at=DUR expecting=W progress=DUR (cap
// defaults to 1024; at, for a tick's own summary, is its NOW).
func TestBalancerScripts(t *testing.T) { replayScripts(t, true, runBalanceScript) }

func runBalanceScript(t *testing.T, script string) string {
	s := &balScript{t: t, q: NewRunQueue(Config{}), capacity: FullCapacity, names: map[*Entity]string{}}
	cmds := map[string]func([]string){
		"balancer": s.balancer, "queue": s.queue, "leave": s.leave,
		"expect":        func(f []string) { s.expecting = s.num(f[1]) },
		"summary":       func(f []string) { s.b.Summary(s.peer(f[1:])) },
		"tick":          s.tick,
		"idle":          func(f []string) { now := s.time(f[1]); s.b.Idle(now, s.q, s.own(now)) },
		"sleeping":      func(f []string) { now := s.time(f[1]); s.b.Sleeping(now, s.q, s.own(now)) },
		"ran":           func([]string) { s.b.Ran() },
		"steal-request": s.stealRequest, "busy-victim": s.stealRequest,
		"refused": func(f []string) { s.b.Refused(s.peer(f[1:])) },
		"arrived": func(f []string) { s.b.Arrived(CoreID(s.num(f[1]))) },
		"place":   s.place,
		"seen":    func(f []string) { s.say("%s", fmtSummary(s.b.Seen(CoreID(s.num(f[1]))))) },
	}
	for lineNo, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if strings.HasPrefix(line, "> ") || line == ">" {
			continue
		}
		s.out.WriteString(line + "\n")
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		s.lineNo, s.line, s.notDue = lineNo, line, false
		if s.b == nil && f[0] != "balancer" {
			s.fail("no balancer yet")
		}
		do, ok := cmds[f[0]]
		if !ok {
			s.fail("unknown command")
		}
		if do(f); !s.notDue {
			printReady(&s.out, s.b, s.q, s.names)
		}
	}
	return s.out.String()
}

// balScript is a balancer script being replayed: the core under test's
// Balancer and run queue, and what the kernel would give it.
type balScript struct {
	t         *testing.T
	q         *RunQueue
	b         *Balancer
	self      CoreID
	capacity  int64
	expecting int64
	names     map[*Entity]string
	out       strings.Builder
	lineNo    int
	line      string
	notDue    bool // the line was a tick that was not due: no Ready to print
}

func (s *balScript) say(format string, args ...any) { fmt.Fprintf(&s.out, "> "+format+"\n", args...) }

func (s *balScript) fail(msg string) { s.t.Fatalf("line %d: %s: %s", s.lineNo+1, s.line, msg) }

func (s *balScript) num(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		s.fail(err.Error())
	}
	return n
}

func (s *balScript) time(v string) Time { return Time(parseDur(s.t, v)) }

// own is the core's own summary at now, as the kernel makes it.
func (s *balScript) own(now Time) LoadSummary {
	sum := s.q.Summary(s.self, s.capacity, now)
	if s.q.Len() == 0 {
		sum.Expecting = s.expecting
	}
	return sum
}

// peer reads CORE FIELDS: another core's summary.
func (s *balScript) peer(args []string) LoadSummary {
	if len(args) == 0 {
		s.fail("no core")
	}
	sum := LoadSummary{Core: CoreID(s.num(args[0])), Capacity: FullCapacity}
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "runnable":
			sum.Runnable = int(s.num(v))
		case "weight":
			sum.Weight = s.num(v)
		case "cap":
			sum.Capacity = s.num(v)
		case "at":
			sum.At = s.time(v)
		case "expecting":
			sum.Expecting = s.num(v)
		case "progress":
			sum.MinProgress = int64(parseDur(s.t, v))
		default:
			s.fail("unknown field " + k)
		}
	}
	return sum
}

// balancer CORE cores=N [cap=C] [tick=DUR] [push=DUR] [maxage=DUR]
func (s *balScript) balancer(f []string) {
	s.self = CoreID(s.num(f[1]))
	n := 0
	var cfg BalanceConfig
	for _, kv := range f[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "cores":
			n = int(s.num(v))
		case "cap":
			s.capacity = s.num(v)
		case "tick":
			cfg.Tick = parseDur(s.t, v)
		case "push":
			cfg.PushEvery = parseDur(s.t, v)
		case "maxage":
			cfg.MaxAge = parseDur(s.t, v)
		default:
			s.fail("unknown key " + k)
		}
	}
	var peers []CoreID
	for i := range n {
		if CoreID(i) != s.self {
			peers = append(peers, CoreID(i))
		}
	}
	s.b = NewBalancer(s.self, n, peers, cfg)
}

// queue NAME [nice=N] [ran=DUR]
func (s *balScript) queue(f []string) {
	e := &Entity{ID: uint64(len(s.names) + 1)}
	s.names[e] = f[1]
	var ran Duration
	for _, kv := range f[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "nice":
			e.Nice = int(s.num(v))
		case "ran":
			ran = parseDur(s.t, v)
		default:
			s.fail("unknown key " + k)
		}
	}
	s.q.Enqueue(e)
	if ran > 0 {
		s.q.Charge(e, ran)
	}
}

// leave NAME
func (s *balScript) leave(f []string) {
	for e, n := range s.names {
		if n == f[1] && e.Queued() {
			s.q.Dequeue(e)
		}
	}
}

// tick NOW: Tick, if Due.
func (s *balScript) tick(f []string) {
	now := s.time(f[1])
	if !s.b.Due(now) {
		s.say("not due")
		s.notDue = true
		return
	}
	s.b.Tick(now, s.q, s.own(now))
}

// steal-request CORE FIELDS, busy-victim CORE FIELDS (the core cannot
// give: no queue).
func (s *balScript) stealRequest(f []string) {
	thief := s.peer(f[1:])
	own := s.own(thief.At)
	if f[0] == "busy-victim" {
		s.b.StealRequest(nil, own, thief)
	} else {
		s.b.StealRequest(s.q, own, thief)
	}
}

// place NOW W PREV: prints the core Place chooses.
func (s *balScript) place(f []string) {
	now := s.time(f[1])
	sum := s.own(now)
	sum.Runnable, sum.Weight = s.q.Len(), s.q.Load() // what the kernel gives at a wake-up
	s.say("core %d", s.b.Place(now, s.num(f[2]), CoreID(s.num(f[3])), sum))
}

// printReady prints b's Ready, performs it on q and advances b.
func printReady(out *strings.Builder, b *Balancer, q *RunQueue, names map[*Entity]string) {
	rd := b.Ready()
	if rd.Broadcast {
		fmt.Fprintf(out, "> broadcast %s\n", fmtSummary(rd.Summary))
	}
	for _, m := range rd.Steals {
		fmt.Fprintf(out, "> steal from %d\n", m.To)
	}
	for _, m := range rd.Refusals {
		fmt.Fprintf(out, "> refuse %d: %s\n", m.To, fmtSummary(m.Summary))
	}
	for _, mg := range rd.Migrations {
		fmt.Fprintf(out, "> migrate %s to %d (%s)\n", names[mg.Entity], mg.To, mg.Why)
		q.Migrate(mg.Entity)
	}
	if b.Stealing() && (len(rd.Steals) > 0 || rd.Broadcast) {
		fmt.Fprintf(out, "> (a steal is pending)\n")
	}
	b.Advance()
	if !b.Ready().Empty() {
		panic("Advance left work")
	}
}

func fmtSummary(s LoadSummary) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("core=%d runnable=%d weight=%d cap=%d at=%s", s.Core, s.Runnable, s.Weight, s.Capacity, vdur(int64(s.At))))
	if s.Expecting != 0 {
		parts = append(parts, fmt.Sprintf("expecting=%d", s.Expecting))
	}
	if s.MinProgress != 0 {
		parts = append(parts, "progress="+vdur(s.MinProgress))
	}
	sort.Strings(parts[1:])
	return strings.Join(parts, " ")
}

// The balancer allocates nothing once its slices have grown.
func TestBalancerAllocs(t *testing.T) {
	q := NewRunQueue(Config{})
	for i := range 4 {
		q.Enqueue(&Entity{ID: uint64(i + 1)})
	}
	b := NewBalancer(0, 3, []CoreID{1, 2}, BalanceConfig{})
	now := Time(0)
	step := func() {
		now += Time(DefaultBalanceTick)
		b.Summary(LoadSummary{Core: 1, Capacity: FullCapacity, At: now})
		b.Summary(LoadSummary{Core: 2, Runnable: 3, Weight: 3072, Capacity: FullCapacity, At: now})
		self := q.Summary(0, FullCapacity, now)
		b.Tick(now, q, self)
		b.StealRequest(q, self, LoadSummary{Core: 2, Capacity: FullCapacity, At: now})
		_ = b.Place(now, NiceZeroWeight, 0, self)
		b.Advance() // the moves are not made: the queue stays as it is
	}
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("%v allocations a round", n)
	}
}
