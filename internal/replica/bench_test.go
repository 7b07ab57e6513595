package replica

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// localNet is the simplest driver: it delivers every message at once, in
// order, with no loss: a write's latency through it is the protocol's own
// cost (steps, messages, map updates) without a transport.
type localNet struct {
	nodes []*Node[int]
	queue []Message[int]
	sent  int
	last  Decision[int]
}

func newLocalNet(tb testing.TB, cores int) *localNet {
	l := &localNet{}
	for i := range cores {
		n, err := NewNode[int](Config{ID: CoreID(i), Cores: cores})
		if err != nil {
			tb.Fatal(err)
		}
		l.nodes = append(l.nodes, n)
	}
	return l
}

func (l *localNet) collect(n *Node[int]) {
	if !n.HasReady() {
		return
	}
	rd := n.Ready()
	l.queue = append(l.queue, rd.Messages...)
	l.sent += len(rd.Messages)
	if len(rd.Decisions) > 0 {
		l.last = rd.Decisions[len(rd.Decisions)-1]
	}
	n.Advance()
}

// drain delivers messages until none is left.
func (l *localNet) drain(tb testing.TB) {
	for i := 0; i < len(l.queue); i++ {
		m := l.queue[i]
		n := l.nodes[m.To]
		if err := n.Step(m); err != nil {
			tb.Fatal(err)
		}
		l.collect(n)
	}
	l.queue = l.queue[:0]
}

// write puts v under key from core and runs the round to its end.
func (l *localNet) write(tb testing.TB, core CoreID, key string, v int) Outcome {
	n := l.nodes[core]
	r := n.Put(key, v)
	l.collect(n)
	l.drain(tb)
	if r.Outcome != Pending {
		return r.Outcome
	}
	if l.last.Tx != r.Tx {
		tb.Fatalf("round %v did not end", r.Tx)
	}
	return l.last.Outcome
}

func TestLocalNetCommitsEverywhere(t *testing.T) {
	l := newLocalNet(t, 4)
	for i := range 20 {
		if o := l.write(t, CoreID(i%4), "k"+strconv.Itoa(i%3), i); o != Committed {
			t.Fatalf("write %d: %v", i, o)
		}
	}
	// 4 messages per participant: Prepare, Vote, Commit, Ack.
	if got, want := l.sent, 20*4*3; got != want {
		t.Fatalf("sent %d messages, want %d", got, want)
	}
	for _, n := range l.nodes {
		if v, _ := n.Get("k1"); v != 19 {
			t.Fatalf("core %d: k1 = %d, want 19", n.ID(), v)
		}
		if c, p := n.InFlight(); c+p != 0 || len(n.commits) != 0 {
			t.Fatalf("core %d keeps state after quiet rounds", n.ID())
		}
	}
}

func TestReadsAllocateNothing(t *testing.T) {
	l := newLocalNet(t, 2)
	l.write(t, 0, "name", 1)
	s, lk := NewShared[int](), NewLocked[int]()
	s.Put("name", 1)
	lk.Put("name", 1)
	for name, tab := range map[string]Table[int]{"replicated": l.nodes[1], "shared": s, "locked": lk} {
		if a := testing.AllocsPerRun(1000, func() { tab.Get("name") }); a != 0 {
			t.Errorf("%s Get allocates %v times", name, a)
		}
	}
}

const benchKeys = 1024

func benchKeyNames() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "proc/" + strconv.Itoa(i)
	}
	return keys
}

// BenchmarkReads measures Get on a table of 1024 keys from one goroutine
// and from GOMAXPROCS goroutines (b.RunParallel), each standing for a core:
// the replicated table reads the core's own replica, the shared ones the
// single copy. ns/op in the parallel case is wall time per read over all
// goroutines, so perfect scaling divides it by GOMAXPROCS.
func BenchmarkReads(b *testing.B) {
	cores := runtime.GOMAXPROCS(0)
	keys := benchKeyNames()
	l := newLocalNet(b, cores)
	for i, k := range keys {
		l.write(b, CoreID(i%cores), k, i)
	}
	shared, locked := NewShared[int](), NewLocked[int]()
	for i, k := range keys {
		shared.Put(k, i)
		locked.Put(k, i)
	}
	tables := []struct {
		name string
		on   func(core int) Table[int]
	}{
		{"replicated", func(core int) Table[int] { return l.nodes[core] }},
		{"shared", func(int) Table[int] { return shared }},
		{"locked", func(int) Table[int] { return locked }},
	}
	for _, tab := range tables {
		b.Run(tab.name+"/1", func(b *testing.B) {
			t := tab.on(0)
			i := 0
			for b.Loop() {
				if _, ok := t.Get(keys[i&(benchKeys-1)]); !ok {
					b.Fatal("missing key")
				}
				i++
			}
		})
		b.Run(tab.name+"/parallel", func(b *testing.B) {
			var ids atomic.Int32
			b.RunParallel(func(pb *testing.PB) {
				core := int(ids.Add(1)-1) % cores
				t := tab.on(core)
				i := core * 17
				for pb.Next() {
					if _, ok := t.Get(keys[i&(benchKeys-1)]); !ok {
						panic("missing key")
					}
					i++
				}
			})
		})
	}
}

// BenchmarkWriteLatency measures one write, start to decision, with no
// contention: through 2PC over localNet (every message delivered at once)
// for 2, 4 and 8 cores, and on the shared tables. msgs/write counts the 2PC
// messages.
func BenchmarkWriteLatency(b *testing.B) {
	keys := benchKeyNames()
	for _, cores := range []int{2, 4, 8} {
		b.Run("replicated/cores="+strconv.Itoa(cores), func(b *testing.B) {
			l := newLocalNet(b, cores)
			i := 0
			for b.Loop() {
				if o := l.write(b, CoreID(i%cores), keys[i&(benchKeys-1)], i); o != Committed {
					b.Fatalf("write %d: %v", i, o)
				}
				i++
			}
			b.ReportMetric(float64(l.sent)/float64(i), "msgs/write")
		})
	}
	b.Run("shared", func(b *testing.B) {
		s := NewShared[int]()
		for i, k := range keys {
			s.Put(k, i)
		}
		i := 0
		for b.Loop() {
			s.Put(keys[i&(benchKeys-1)], i)
			i++
		}
	})
	b.Run("locked", func(b *testing.B) {
		s := NewLocked[int]()
		i := 0
		for b.Loop() {
			s.Put(keys[i&(benchKeys-1)], i)
			i++
		}
	})
}
