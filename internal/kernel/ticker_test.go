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
	var runs [2]atomic.Int64
	var cores [2]*Core
	m, _ := New(Config{Cores: 2, Init: func(c *Core) {
		cores[c.ID()] = c
		c.Every(time.Millisecond, func(int64) bool {
			return runs[c.ID()].Add(1) < 5 // armed for the first five ticks
		})
	}})
	m.Boot()
	time.Sleep(100 * time.Millisecond)
	m.Stop()
	for i := range runs {
		if n := runs[i].Load(); n < 5 || n > 20 {
			t.Errorf("core %d ran its ticker %d times in 100 ms; want 5 armed runs and few after", i, n)
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
