package replica

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Differential test: every Table, driven by the same random writes, holds
// what a plain map holds.
func TestTablesMatchAMap(t *testing.T) {
	l := newLocalNet(t, 3)
	tables := map[string]Table[int]{
		"replicated/0": l.nodes[0], "shared": NewShared[int](), "locked": NewLocked[int](),
	}
	rng := rand.New(rand.NewPCG(6, 6))
	ref := map[string]int{}
	for i := range 3000 {
		key := "k" + strconv.Itoa(rng.IntN(200))
		del := rng.IntN(4) == 0
		if del {
			delete(ref, key)
		} else {
			ref[key] = i
		}
		for name, tab := range tables {
			var r Result
			if del {
				r = tab.Delete(key)
			} else {
				r = tab.Put(key, i)
			}
			if r.Outcome == Pending {
				l.collect(l.nodes[0])
				l.drain(t)
				if l.last.Tx != r.Tx || l.last.Outcome != Committed {
					t.Fatalf("%s: write %d did not commit: %+v", name, i, l.last)
				}
			} else if r.Outcome != Committed {
				t.Fatalf("%s: write %d: %v", name, i, r.Outcome)
			}
		}
	}
	for name, tab := range tables {
		got := maps.Collect(tab.All())
		if diff := cmp.Diff(ref, got); diff != "" {
			t.Fatalf("%s differs from the reference (-want +got):\n%s", name, diff)
		}
		if tab.Len() != len(ref) {
			t.Fatalf("%s: Len %d, want %d", name, tab.Len(), len(ref))
		}
		for k, v := range ref {
			if g, ok := tab.Get(k); !ok || g != v {
				t.Fatalf("%s: Get(%q) = %d,%v, want %d", name, k, g, ok, v)
			}
		}
	}
	for _, n := range l.nodes[1:] {
		if diff := cmp.Diff(ref, maps.Collect(n.All())); diff != "" {
			t.Fatalf("replica %d differs:\n%s", n.ID(), diff)
		}
	}
}

// Hammer: concurrent writers and readers on the shared tables (run with
// -race). Each writer owns its keys and writes increasing values, so a
// reader must never see a key's value go backwards.
func TestSharedTablesHammer(t *testing.T) {
	for name, tab := range map[string]Table[int]{"shared": NewShared[int](), "locked": NewLocked[int]()} {
		t.Run(name, func(t *testing.T) {
			const writers, readers, keys, rounds = 2, 2, 16, 300
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := 1; i <= rounds; i++ {
						tab.Put("w"+strconv.Itoa(w)+"/"+strconv.Itoa(i%keys), i)
					}
				})
			}
			for range readers {
				wg.Go(func() {
					last := map[string]int{}
					for range rounds {
						for w := range writers {
							for k := range keys {
								key := "w" + strconv.Itoa(w) + "/" + strconv.Itoa(k)
								v, _ := tab.Get(key)
								if v < last[key] {
									t.Errorf("%s went back from %d to %d", key, last[key], v)
									return
								}
								last[key] = v
							}
						}
						for range tab.All() {
						}
					}
				})
			}
			wg.Wait()
			if tab.Len() != writers*keys {
				t.Fatalf("Len %d, want %d", tab.Len(), writers*keys)
			}
		})
	}
}

func TestStepRejectsMalformedMessages(t *testing.T) {
	n, err := NewNode[int](Config{ID: 1, Cores: 3})
	if err != nil {
		t.Fatal(err)
	}
	tx := TxID{Core: 0, Seq: 1}
	put := Op[int]{Kind: OpPut, Key: "k"}
	for _, tc := range []struct {
		name string
		m    Message[int]
	}{
		{"wrong recipient", Message[int]{Type: MsgPrepare, From: 0, To: 2, Tx: tx, Op: put}},
		{"from itself", Message[int]{Type: MsgPrepare, From: 1, To: 1, Tx: TxID{1, 1}, Op: put}},
		{"from nowhere", Message[int]{Type: MsgPrepare, From: 7, To: 1, Tx: tx, Op: put}},
		{"seq 0", Message[int]{Type: MsgPrepare, From: 0, To: 1, Tx: TxID{0, 0}, Op: put}},
		{"prepare for another's tx", Message[int]{Type: MsgPrepare, From: 0, To: 1, Tx: TxID{2, 1}, Op: put}},
		{"prepare without op", Message[int]{Type: MsgPrepare, From: 0, To: 1, Tx: tx}},
		{"commit of own tx", Message[int]{Type: MsgCommit, From: 0, To: 1, Tx: TxID{1, 1}}},
		{"vote for unknown tx", Message[int]{Type: MsgVote, From: 0, To: 1, Tx: TxID{1, 1}, Yes: true}},
		{"ack for another's tx", Message[int]{Type: MsgAck, From: 0, To: 1, Tx: tx}},
		{"unknown type", Message[int]{Type: 99, From: 0, To: 1, Tx: tx}},
	} {
		if err := n.Step(tc.m); err == nil {
			t.Errorf("%s: Step(%v) accepted", tc.name, tc.m)
		}
	}
	if n.HasReady() || len(n.locks) != 0 {
		t.Fatal("a rejected message changed the node")
	}
	if _, err := NewNode[int](Config{ID: 3, Cores: 3}); err == nil {
		t.Fatal("NewNode accepted an ID out of range")
	}
}

func TestBackoffSeparatesCores(t *testing.T) {
	for attempt := 1; attempt <= 10; attempt++ {
		if Backoff(0, attempt) >= Backoff(1, attempt) {
			t.Fatalf("attempt %d: core 0 waits %d, core 1 %d", attempt, Backoff(0, attempt), Backoff(1, attempt))
		}
	}
	if Backoff(0, 100) != 64 {
		t.Fatalf("Backoff not capped: %d", Backoff(0, 100))
	}
}

// Writers that collide on one key all get their write in by retrying after
// Backoff.
func TestConflictingWritersRetryUntilCommitted(t *testing.T) {
	const cores = 4
	s := newSimNet(t, 9, Config{Cores: cores})
	s.maxDelay = 2
	type writer struct {
		attempt int
		wait    int
		pending TxID
		done    bool
	}
	ws := make([]writer, cores)
	for range 2000 {
		all := true
		for c := range ws {
			w := &ws[c]
			if w.done {
				continue
			}
			all = false
			if w.pending.Seq != 0 {
				d, ok := s.decisions[w.pending]
				if !ok {
					continue
				}
				w.pending = TxID{}
				if d.Outcome == Committed {
					w.done = true
					continue
				}
				w.wait = Backoff(CoreID(c), w.attempt)
				continue
			}
			if w.wait > 0 {
				w.wait--
				continue
			}
			w.attempt++
			r := s.propose(CoreID(c), Op[int]{Kind: OpPut, Key: "hot", Value: c})
			switch r.Outcome {
			case Pending:
				w.pending = r.Tx
			case Committed:
				w.done = true
			case Aborted:
				w.wait = Backoff(CoreID(c), w.attempt)
			}
		}
		if all {
			break
		}
		s.tick()
	}
	for c, w := range ws {
		if !w.done {
			t.Fatalf("core %d never committed after %d attempts", c, w.attempt)
		}
	}
	for range 50 {
		s.tick()
	}
	s.check()
	t.Logf("attempts per core: %d %d %d %d", ws[0].attempt, ws[1].attempt, ws[2].attempt, ws[3].attempt)
}
