package trace

import (
	"testing"
	"time"
)

// The cost of one traced event (docs/trace.md, "What tracing costs"): a
// ring's Add, and beside it the monotonic clock read an event stamped with
// its own reading would add.

func BenchmarkRingAdd(b *testing.B) {
	r := NewRing(DefaultEvents)
	for i := range b.N {
		r.Add(Event{Time: int64(i), Kind: MsgRecv, PID: 7, Arg: 3, Core: 1})
	}
}

func BenchmarkClockRead(b *testing.B) {
	epoch := time.Now()
	var t int64
	for range b.N {
		t += int64(time.Since(epoch))
	}
	if t == 0 {
		b.Fatal("the clock did not move")
	}
}

func BenchmarkRingAddSmall(b *testing.B) {
	r := NewRing(1024)
	for i := range b.N {
		r.Add(Event{Time: int64(i), Kind: MsgRecv, PID: 7, Arg: 3, Core: 1})
	}
}

func BenchmarkRingPut(b *testing.B) {
	r := NewRing(DefaultEvents)
	for i := range b.N {
		r.Put(int64(i), MsgRecv, 0, 0, 1, 7, 3)
	}
}
