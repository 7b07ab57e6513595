package kernel

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestTickersWakeIdleCoresOnlyWhenArmed: an armed ticker runs on an idle
// core; once it answers false, the core sleeps through its periods until
// something arms it again.
func TestTickersWakeIdleCoresOnlyWhenArmed(t *testing.T) {
	const armedRuns = 5
	var runs [2]atomic.Int64
	var disarmed [2]chan struct{}
	for i := range disarmed {
		disarmed[i] = make(chan struct{})
	}
	m, _ := New(Config{Cores: 2, Init: []func(*Core){func(c *Core) {
		id := c.ID()
		c.Every(time.Millisecond, func(int64) bool {
			n := runs[id].Add(1)
			if n == armedRuns {
				close(disarmed[id]) // its answer disarms it
			}
			return n < armedRuns
		})
	}}})
	m.Boot()
	defer m.Stop()
	deadline := time.After(10 * time.Second)
	for i := range disarmed {
		select {
		case <-disarmed[i]:
		case <-deadline:
			t.Fatalf("core %d ran its armed ticker %d times in 10 s; want %d", i, runs[i].Load(), armedRuns)
		}
	}
	// Disarmed, over 50 periods of an idle core it runs only when the
	// core wakes for something else: nothing here (armed, it would run
	// about 50 times). The interval is what is measured, not a wait.
	time.Sleep(50 * time.Millisecond)
	for i := range runs {
		if n := runs[i].Load() - armedRuns; n > 5 {
			t.Errorf("core %d ran its disarmed ticker %d times in 50 periods; want few", i, n)
		}
	}
}

// TestTotalsMatchCoreStats: the machine-wide sloppy totals, exact after
// Stop, equal the sum of the cores' own counters.
func TestTotalsMatchCoreStats(t *testing.T) {
	m, _ := New(Config{Cores: 3})
	m.Boot()
	m.PingPong(0, 1, 500)
	m.PingPong(2, 1, 300)
	m.Stop()
	_, msgs, maxErr := m.Totals()
	var want int64
	for _, c := range m.Stats() {
		want += int64(c.MsgsRecv)
	}
	if msgs != want || maxErr != 0 {
		t.Errorf("machine total %d messages (max error %d), cores' sum %d", msgs, maxErr, want)
	}
}
