package replica

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// simNet is a deterministic in-memory network of Nodes driven the way the
// kernel drives them: it ticks every live node, delivers messages after a
// random delay (possibly dropping, duplicating or reordering them), and
// carries out each node's Ready. A crashed core stops: it is never ticked
// or stepped again and messages to it vanish.
type simNet struct {
	t        failer
	rng      *rand.Rand
	cfg      Config
	nodes    []*Node[int]
	crashed  []bool
	now      int64
	inflight []simMsg

	dropP, dupP float64 // probabilities per message
	maxDelay    int     // ticks; a message arrives 1..maxDelay+1 ticks after it is sent

	// What happened.
	applied       [][]Applied[int]          // per node, in order
	decisions     map[TxID]Decision[int]    // per transaction
	proposed      map[TxID]int64            // tick of Propose, for Pending writes
	immediate     map[TxID]Result           // writes whose outcome was final at once
	sent          int                       // messages handed to the network
	blockedRounds int                       // times check found a live core blocked (for the log)
	drop          func(m Message[int]) bool // fault injection: lose the messages it picks
}

type simMsg struct {
	at int64
	m  Message[int]
}

// failer is what simNet needs of a *testing.T or a *rapid.T.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newSimNet(t failer, seed uint64, cfg Config) *simNet {
	s := &simNet{
		t:         t,
		rng:       rand.New(rand.NewPCG(seed, 0x2bc)),
		cfg:       cfg,
		crashed:   make([]bool, cfg.Cores),
		applied:   make([][]Applied[int], cfg.Cores),
		decisions: map[TxID]Decision[int]{},
		proposed:  map[TxID]int64{},
		immediate: map[TxID]Result{},
	}
	for i := range cfg.Cores {
		c := cfg
		c.ID = CoreID(i)
		n, err := NewNode[int](c)
		if err != nil {
			t.Fatal(err)
		}
		s.nodes = append(s.nodes, n)
	}
	return s
}

// collect carries out core's Ready: the caller's duties.
func (s *simNet) collect(core CoreID) {
	n := s.nodes[core]
	if !n.HasReady() {
		return
	}
	rd := n.Ready()
	for _, m := range rd.Messages {
		s.sent++
		if s.rng.Float64() < s.dropP || s.drop != nil && s.drop(m) {
			continue
		}
		copies := 1
		if s.rng.Float64() < s.dupP {
			copies = 2
		}
		for range copies {
			s.inflight = append(s.inflight, simMsg{at: s.now + 1 + int64(s.rng.IntN(s.maxDelay+1)), m: m})
		}
	}
	for _, d := range rd.Decisions {
		if _, dup := s.decisions[d.Tx]; dup {
			s.t.Fatalf("two decisions for %v", d.Tx)
		}
		if _, ok := s.proposed[d.Tx]; !ok {
			s.t.Fatalf("decision for %v, which was not pending", d.Tx)
		}
		s.decisions[d.Tx] = d
	}
	s.applied[core] = append(s.applied[core], rd.Applied...)
	n.Advance()
}

func (s *simNet) propose(core CoreID, op Op[int]) Result {
	r := s.nodes[core].Propose(op)
	if r.Outcome == Pending {
		s.proposed[r.Tx] = s.now
	} else {
		s.immediate[r.Tx] = r
	}
	s.collect(core)
	return r
}

// tick advances time by one tick: every live node ticks, then every message
// due is delivered, in random order.
func (s *simNet) tick() {
	s.now++
	for i, n := range s.nodes {
		if !s.crashed[i] {
			n.Tick()
			s.collect(CoreID(i))
		}
	}
	var due []simMsg
	kept := s.inflight[:0]
	for _, m := range s.inflight {
		if m.at <= s.now {
			due = append(due, m)
		} else {
			kept = append(kept, m)
		}
	}
	s.inflight = kept
	s.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	for _, d := range due {
		if s.crashed[d.m.To] {
			continue
		}
		if err := s.nodes[d.m.To].Step(d.m); err != nil {
			s.t.Fatalf("step %v: %v", d.m, err)
		}
		s.collect(d.m.To)
	}
}

func (s *simNet) crash(core CoreID) { s.crashed[core] = true }

// check asserts the properties of the protocol once the network is quiet.
func (s *simNet) check() {
	t := s.t
	t.Helper()
	pt := s.nodes[0].cfg.PrepareTimeout
	// Every round ends, within PrepareTimeout ticks, unless its coordinator crashed.
	for tx, at := range s.proposed {
		d, ok := s.decisions[tx]
		if !ok {
			if !s.crashed[tx.Core] {
				t.Fatalf("%v proposed at tick %d on a live core never ended", tx, at)
			}
			continue
		}
		if d.Ticks > pt {
			t.Fatalf("%v took %d ticks > timeout %d", tx, d.Ticks, pt)
		}
	}
	// Agreement: nobody applies a write its coordinator did not commit, and
	// nobody applies one twice.
	for core, as := range s.applied {
		seen := map[TxID]bool{}
		for _, a := range as {
			if seen[a.Tx] {
				t.Fatalf("core %d applied %v twice", core, a.Tx)
			}
			seen[a.Tx] = true
			if r, ok := s.immediate[a.Tx]; ok && r.Outcome == Committed {
				continue
			}
			if d, ok := s.decisions[a.Tx]; !ok || d.Outcome != Committed {
				t.Fatalf("core %d applied %v, which its coordinator decided %v", core, a.Tx, d.Outcome)
			}
		}
	}
	// Visibility: every committed write is applied by every live core, and
	// live cores apply the writes of each key in the same order.
	var ref = -1
	for core := range s.nodes {
		if s.crashed[core] {
			continue
		}
		got := map[TxID]bool{}
		for _, a := range s.applied[core] {
			got[a.Tx] = true
		}
		for tx, d := range s.decisions {
			if d.Outcome == Committed && !got[tx] && !s.blocked(CoreID(core), tx) {
				t.Fatalf("core %d never applied committed %v", core, tx)
			}
		}
		if ref < 0 {
			ref = core
			continue
		}
		if diff := cmp.Diff(perKey(s.applied[ref]), perKey(s.applied[core])); diff != "" {
			t.Fatalf("cores %d and %d applied writes in different orders (-%d +%d):\n%s", ref, core, ref, core, diff)
		}
		// A blocked replica lags on its locked key; compare the others.
		if diff := cmp.Diff(s.unblockedData(CoreID(ref)), s.unblockedData(CoreID(core))); diff != "" {
			t.Fatalf("replicas %d and %d disagree (-%d +%d):\n%s", ref, core, ref, core, diff)
		}
	}
	// Locks left at live cores belong to crashed coordinators (2PC blocks).
	for core, n := range s.nodes {
		if s.crashed[core] {
			continue
		}
		if c, _ := n.InFlight(); c != 0 {
			t.Fatalf("core %d still coordinates %d rounds", core, c)
		}
		for key, tx := range n.locks {
			if !s.crashed[tx.Core] {
				t.Fatalf("core %d still locks %q for %v of live core %d", core, key, tx, tx.Core)
			}
		}
	}
}

// blocked reports whether live core is still prepared for tx, whose
// coordinator crashed: 2PC's blocking case, which the protocol allows (the
// replica lags, holding the key locked, but never disagrees).
func (s *simNet) blocked(core CoreID, tx TxID) bool {
	if !s.crashed[tx.Core] {
		return false
	}
	return s.nodes[core].findPrepared(tx) >= 0
}

// unblockedData returns core's replica without the keys that some live core
// holds locked for a crashed coordinator.
func (s *simNet) unblockedData(core CoreID) map[string]int {
	m := maps.Clone(s.nodes[core].data)
	for c, n := range s.nodes {
		if s.crashed[c] {
			continue
		}
		for _, p := range n.prepared {
			if s.crashed[p.tx.Core] {
				s.blockedRounds++
				delete(m, p.op.Key)
			}
		}
	}
	return m
}

// perKey returns the transactions applied to each key, in order, leaving
// out writes of crashed coordinators that only their coordinator applied
// (none in practice: a coordinator applies only after everyone voted yes).
func perKey(as []Applied[int]) map[string][]TxID {
	m := map[string][]TxID{}
	for _, a := range as {
		m[a.Op.Key] = append(m[a.Op.Key], a.Tx)
	}
	return m
}

// runRandom runs one seeded scenario: random writes from random cores to a
// few keys (so writes conflict), a lossy reordering network, and up to
// crashes cores that stop answering at random moments, then a quiet period
// with a perfect network, then the checks.
func runRandom(t *testing.T, seed uint64, cores, crashes int, dropP float64, maxDelay int) *simNet {
	s := newSimNet(t, seed, Config{Cores: cores, PrepareTimeout: 12, ResendInterval: 3, QueryInterval: 2})
	s.dropP, s.dupP, s.maxDelay = dropP, 0.05, maxDelay
	keys := []string{"a", "b", "c", "d"}
	crashAt := map[int64]CoreID{}
	for range crashes {
		crashAt[int64(1+s.rng.IntN(150))] = CoreID(s.rng.IntN(cores))
	}
	val := 0
	for s.now < 200 {
		if c, ok := crashAt[s.now]; ok {
			s.crash(c)
		}
		for range s.rng.IntN(3) {
			c := CoreID(s.rng.IntN(cores))
			if s.crashed[c] {
				continue
			}
			val++
			op := Op[int]{Kind: OpPut, Key: keys[s.rng.IntN(len(keys))], Value: val}
			if s.rng.IntN(5) == 0 {
				op = Op[int]{Kind: OpDelete, Key: op.Key}
			}
			s.propose(c, op)
		}
		s.tick()
	}
	s.dropP, s.dupP = 0, 0
	for range 100 {
		s.tick()
	}
	s.check()
	return s
}

func TestRandomRoundsAgree(t *testing.T) {
	for _, tc := range []struct {
		cores, crashes int
		drop           float64
		delay          int // most ticks a message is delayed beyond one
	}{
		{2, 0, 0, 0}, {3, 0, 0.1, 3}, {4, 0, 0.2, 3}, {4, 1, 0.1, 3}, {5, 2, 0.1, 3}, {3, 1, 0.3, 3},
		// Slow messages: replies come after queries, so participants ask
		// each other while the coordinator is alive.
		{3, 0, 0.1, 10}, {4, 1, 0.1, 10},
	} {
		t.Run(fmt.Sprintf("cores=%d,crashes=%d,drop=%.1f,delay=%d", tc.cores, tc.crashes, tc.drop, tc.delay), func(t *testing.T) {
			commits, aborts, blocked := 0, 0, 0
			for seed := range uint64(40) {
				s := runRandom(t, seed, tc.cores, tc.crashes, tc.drop, tc.delay)
				blocked += s.blockedRounds
				for _, d := range s.decisions {
					if d.Outcome == Committed {
						commits++
					} else {
						aborts++
					}
				}
			}
			if commits == 0 {
				t.Fatalf("no write ever committed (%d aborts)", aborts)
			}
			t.Logf("%d commits, %d aborts, blocked seen %d times", commits, aborts, blocked)
		})
	}
}

// A core that stops answering in the middle of a round: the coordinator
// aborts after the timeout, the other replicas unlock and agree, and once
// the failed core is removed, writes commit again.
func TestSilentParticipantAbortsThenRemovePeer(t *testing.T) {
	s := newSimNet(t, 1, Config{Cores: 3, PrepareTimeout: 10})
	s.maxDelay = 0
	s.crash(2)
	r := s.propose(0, Op[int]{Kind: OpPut, Key: "pid/7", Value: 7})
	if r.Outcome != Pending {
		t.Fatalf("Propose: %v, want pending", r.Outcome)
	}
	for range 12 {
		s.tick()
	}
	d, ok := s.decisions[r.Tx]
	if !ok || d.Outcome != Aborted || d.Reason != ReasonTimeout || d.Ticks != 10 {
		t.Fatalf("decision %+v, want aborted by timeout after 10 ticks", d)
	}
	for _, n := range s.nodes[:2] {
		if _, ok := n.Get("pid/7"); ok {
			t.Fatalf("core %d sees an aborted write", n.ID())
		}
		if _, locked := n.Locked("pid/7"); locked {
			t.Fatalf("core %d still locks the key", n.ID())
		}
	}
	s.nodes[0].RemovePeer(2)
	s.nodes[1].RemovePeer(2)
	r = s.propose(0, Op[int]{Kind: OpPut, Key: "pid/7", Value: 8})
	for range 5 {
		s.tick()
	}
	if d := s.decisions[r.Tx]; d.Outcome != Committed {
		t.Fatalf("after RemovePeer: %v, want committed", d.Outcome)
	}
	s.check()
	for _, n := range s.nodes[:2] {
		if v, _ := n.Get("pid/7"); v != 8 {
			t.Fatalf("core %d reads %d, want 8", n.ID(), v)
		}
	}
}

// A participant that voted yes and whose Commit is lost learns the decision
// by asking; one whose Abort is lost learns it by presumed abort.
func TestLostDecisionIsQueried(t *testing.T) {
	for _, want := range []Outcome{Committed, Aborted} {
		t.Run(want.String(), func(t *testing.T) {
			s := newSimNet(t, 2, Config{Cores: 3, PrepareTimeout: 10, ResendInterval: 100, QueryInterval: 4})
			s.maxDelay = 0
			if want == Aborted {
				s.nodes[2].locks["k"] = TxID{Core: 2, Seq: 99} // core 2 will vote No
			}
			// Lose every decision sent to core 1, for two ticks.
			s.drop = func(m Message[int]) bool { return m.To == 1 && (m.Type == MsgCommit || m.Type == MsgAbort) }
			r := s.propose(0, Op[int]{Kind: OpPut, Key: "k", Value: 1})
			s.tick()
			s.tick()
			s.drop = nil
			if _, p := s.nodes[1].InFlight(); p != 1 {
				t.Fatalf("core 1 prepared for %d transactions, want 1", p)
			}
			for range 10 {
				s.tick()
			}
			if d := s.decisions[r.Tx]; d.Outcome != want {
				t.Fatalf("decision %v, want %v", d.Outcome, want)
			}
			if _, p := s.nodes[1].InFlight(); p != 0 {
				t.Fatalf("core 1 still prepared after querying")
			}
			v, ok := s.nodes[1].Get("k")
			if (want == Committed) != (ok && v == 1) {
				t.Fatalf("core 1 reads %d,%v for a %v write", v, ok, want)
			}
		})
	}
}
