package replica

import (
	"testing"

	"pgregory.net/rapid"
)

// TestRapidSchedules lets rapid choose the schedule: which core writes
// which key, which in-flight message is delivered, lost or duplicated next,
// which core ticks, and which core stops. After the schedule, a quiet
// period with a perfect network, then the same checks as the seeded
// simulation. On failure rapid shrinks the schedule to a short one.
func TestRapidSchedules(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cores := rapid.IntRange(2, 4).Draw(rt, "cores")
		s := newSimNet(rt, 0, Config{Cores: cores, PrepareTimeout: 8, ResendInterval: 2, QueryInterval: 3})
		s.maxDelay = 0
		keys := []string{"a", "b"}
		crashes := 0
		steps := rapid.IntRange(1, 120).Draw(rt, "steps")
		for i := range steps {
			live := func(c int) bool { return !s.crashed[c] }
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0, 1: // a write
				c := rapid.IntRange(0, cores-1).Draw(rt, "core")
				if live(c) {
					k := keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "key")]
					s.propose(CoreID(c), Op[int]{Kind: OpPut, Key: k, Value: i})
				}
			case 2, 3, 4: // deliver one message
				if len(s.inflight) > 0 {
					j := rapid.IntRange(0, len(s.inflight)-1).Draw(rt, "msg")
					m := s.inflight[j].m
					s.inflight = append(s.inflight[:j], s.inflight[j+1:]...)
					if live(int(m.To)) {
						if err := s.nodes[m.To].Step(m); err != nil {
							rt.Fatalf("step %v: %v", m, err)
						}
						s.collect(m.To)
					}
				}
			case 5: // lose one message
				if len(s.inflight) > 0 {
					j := rapid.IntRange(0, len(s.inflight)-1).Draw(rt, "lost")
					s.inflight = append(s.inflight[:j], s.inflight[j+1:]...)
				}
			case 6: // duplicate one message
				if len(s.inflight) > 0 {
					j := rapid.IntRange(0, len(s.inflight)-1).Draw(rt, "dup")
					s.inflight = append(s.inflight, s.inflight[j])
				}
			case 7, 8: // one core's timer
				c := rapid.IntRange(0, cores-1).Draw(rt, "tick")
				if live(c) {
					s.nodes[c].Tick()
					s.collect(CoreID(c))
				}
			case 9: // a core stops
				if crashes == 0 && rapid.Bool().Draw(rt, "crash") {
					crashes++
					s.crash(CoreID(rapid.IntRange(0, cores-1).Draw(rt, "crashed")))
				}
			}
		}
		for range 60 {
			s.tick()
		}
		s.check()
	})
}
