package kernel

import (
	"testing"

	"isle/internal/contract"
	"isle/internal/urpc"
)

// BenchmarkTraceRoundTripSide runs the trace points that one side of the
// cross-core SIP ping-pong passes each round trip (docs/trace.md, "What
// tracing costs"), in their order: the channel send and the urpc message
// it makes, the poll's switch out, the reply's urpc message and the wake-up
// it causes, the poll's switch in and the channel receive. Off is the same
// calls with tracing off (a branch each): the difference is what tracing
// adds to a side, warm, without the cache misses of a real run.
func BenchmarkTraceRoundTripSide(b *testing.B) {
	con := contract.MustCompile("t.contract", "contract C {\n  msg Ping\n  msg Pong\n  initial state S {\n    imp Ping -> T\n  }\n  state T {\n    exp Pong -> S\n  }\n}\n").Lookup("C")
	for _, bc := range []struct {
		name   string
		events int
	}{{"off", 0}, {"on", 1 << 16}, {"on-small", 1 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			m := &Machine{cfg: Config{Cores: 2, TraceEvents: bc.events}}
			c := newCore(m, 0)
			r := urpc.NewRing(16, urpc.NewDoorbell())
			c.toCore = []*urpc.Ring{nil, r}
			s := &SIP{pid: 7, core: c}
			now := int64(1)
			for i := range b.N {
				c.traceClock(now)
				s.TraceChanSending(con, 0, uint64(i)+1)
				c.traceSend(r, msgDeliverData)
				s.TraceChanSent(true)
				now += 100
				c.tracePoll(s, now)
				c.traceRecv(1, msgDeliverData)
				c.traceWake(s)
				c.traceHandled()
				now += 100
				c.traceClock(now)
				c.traceSwitchIn(s, now)
				s.TraceChanRecv(con, 1, uint64(i)+2)
			}
		})
	}
}
