package sched

import "testing"

// TestYieldLetsTheOtherRun: two equal entities that yield after a short run
// alternate, where without Yield the one with the earlier deadline would be
// picked again.
func TestYieldLetsTheOtherRun(t *testing.T) {
	q := NewRunQueue(Config{})
	a, b := &Entity{ID: 1}, &Entity{ID: 2}
	q.Enqueue(a)
	q.Enqueue(b)
	prev := q.Pick()
	for i := 0; i < 100; i++ {
		q.Charge(prev, 1000) // a microsecond, far from the slice
		q.Yield(prev)
		next := q.Pick()
		if next == prev {
			t.Fatalf("round %d: entity %d yielded and was picked again", i, prev.ID)
		}
		prev = next
	}
	if d := a.Runtime() - b.Runtime(); d > 1000 || d < -1000 {
		t.Errorf("runtimes %v and %v differ", a.Runtime(), b.Runtime())
	}
	alone := NewRunQueue(Config{})
	c := &Entity{ID: 3}
	alone.Enqueue(c)
	alone.Yield(c)
	if alone.Pick() != c {
		t.Error("a lone entity did not keep running after Yield")
	}
}
