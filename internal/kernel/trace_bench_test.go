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
//
// The sub-benchmarks "on", "off" and "on-small" read the clock between
// the reply and the switch in (a poll whose turn that read a clock, one
// in pollClockEvery, or a long one); "short-on" and "short-off" do not, as
// a short poll, the round trip's usual one: the reply is stamped with the
// poll's reading, and the switch in that ends the poll has that time too.
func BenchmarkTraceRoundTripSide(b *testing.B) {
	con := contract.MustCompile("t.contract", "contract C {\n  msg Ping\n  msg Pong\n  initial state S {\n    imp Ping -> T\n  }\n  state T {\n    exp Pong -> S\n  }\n}\n").Lookup("C")
	for _, bc := range []struct {
		name   string
		events int
		short  bool
	}{{"off", 0, false}, {"on", 1 << 16, false}, {"on-small", 1 << 10, false}, {"short-off", 0, true}, {"short-on", 1 << 16, true}} {
		b.Run(bc.name, func(b *testing.B) {
			m := &Machine{cfg: Config{Cores: 2, TraceEvents: bc.events}}
			c := newCore(m, 0)
			r := urpc.NewRing(16, urpc.NewDoorbell())
			c.toCore = []*urpc.Ring{nil, r}
			s := &SIP{pid: 7, core: c}
			now := int64(1)
			for i := range b.N {
				c.traceClock(now)
				s.TraceChanSending()
				c.traceSendCore(1, msgDeliverData)
				s.TraceChanSent(con, 0, uint64(i)+1)
				now += 100
				c.tracePoll(s, now)
				c.traceRecv(1, msgDeliverData)
				c.traceWake(s)
				c.traceHandled()
				if !bc.short {
					now += 100
					c.traceClock(now)
				}
				c.traceSwitchIn(s, now)
				s.TraceChanRecv(con, 1, uint64(i)+2)
			}
		})
	}
}
