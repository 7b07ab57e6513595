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
	q := NewRunQueue(Config{})
	var b *Balancer
	self := CoreID(0)
	capacity := int64(FullCapacity)
	expecting := int64(0)
	names := map[*Entity]string{}
	var out strings.Builder
	for lineNo, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		if strings.HasPrefix(line, "> ") || line == ">" {
			continue
		}
		out.WriteString(line + "\n")
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		say := func(format string, args ...any) { fmt.Fprintf(&out, "> "+format+"\n", args...) }
		fail := func(msg string) { t.Fatalf("line %d: %s: %s", lineNo+1, line, msg) }
		num := func(s string) int64 {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				fail(err.Error())
			}
			return n
		}
		own := func(now Time) LoadSummary {
			s := q.Summary(self, capacity, now)
			if q.Len() == 0 {
				s.Expecting = expecting
			}
			return s
		}
		peer := func(args []string) LoadSummary {
			if len(args) == 0 {
				fail("no core")
			}
			s := LoadSummary{Core: CoreID(num(args[0])), Capacity: FullCapacity}
			for _, kv := range args[1:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "runnable":
					s.Runnable = int(num(v))
				case "weight":
					s.Weight = num(v)
				case "cap":
					s.Capacity = num(v)
				case "at":
					s.At = Time(parseDur(t, v))
				case "expecting":
					s.Expecting = num(v)
				case "progress":
					s.MinProgress = int64(parseDur(t, v))
				default:
					fail("unknown field " + k)
				}
			}
			return s
		}
		if b == nil && f[0] != "balancer" {
			fail("no balancer yet")
		}
		switch f[0] {
		case "balancer":
			self = CoreID(num(f[1]))
			n := 0
			var cfg BalanceConfig
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "cores":
					n = int(num(v))
				case "cap":
					capacity = num(v)
				case "tick":
					cfg.Tick = parseDur(t, v)
				case "push":
					cfg.PushEvery = parseDur(t, v)
				case "maxage":
					cfg.MaxAge = parseDur(t, v)
				default:
					fail("unknown key " + k)
				}
			}
			var peers []CoreID
			for i := range n {
				if CoreID(i) != self {
					peers = append(peers, CoreID(i))
				}
			}
			b = NewBalancer(self, n, peers, cfg)
		case "queue":
			e := &Entity{ID: uint64(len(names) + 1)}
			names[e] = f[1]
			var ran Duration
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "nice":
					e.Nice = int(num(v))
				case "ran":
					ran = parseDur(t, v)
				default:
					fail("unknown key " + k)
				}
			}
			q.Enqueue(e)
			if ran > 0 {
				q.Charge(e, ran)
			}
		case "leave":
			for e, n := range names {
				if n == f[1] && e.Queued() {
					q.Dequeue(e)
				}
			}
		case "expect":
			expecting = num(f[1])
		case "summary":
			b.Summary(peer(f[1:]))
		case "tick":
			now := Time(parseDur(t, f[1]))
			if !b.Due(now) {
				say("not due")
				continue
			}
			b.Tick(now, q, own(now))
		case "idle":
			now := Time(parseDur(t, f[1]))
			b.Idle(now, q, own(now))
		case "sleeping":
			now := Time(parseDur(t, f[1]))
			b.Sleeping(now, q, own(now))
		case "ran":
			b.Ran()
		case "steal-request", "busy-victim":
			thief := peer(f[1:])
			own := own(thief.At)
			if f[0] == "busy-victim" {
				b.StealRequest(nil, own, thief)
			} else {
				b.StealRequest(q, own, thief)
			}
		case "refused":
			b.Refused(peer(f[1:]))
		case "arrived":
			b.Arrived(CoreID(num(f[1])))
		case "place":
			now := Time(parseDur(t, f[1]))
			s := own(now)
			s.Runnable, s.Weight = q.Len(), q.Load() // what the kernel gives at a wake-up
			say("core %d", b.Place(now, num(f[2]), CoreID(num(f[3])), s))
		case "seen":
			say("%s", fmtSummary(b.Seen(CoreID(num(f[1])))))
		default:
			fail("unknown command")
		}
		printReady(&out, b, q, names)
	}
	return out.String()
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
