package kernel

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"isle/internal/urpc"
)

// TestTooManyCores: a machine of more than MaxCores cores is refused with
// one clear error.
func TestTooManyCores(t *testing.T) {
	for _, n := range []int{MaxCores + 1, 100_000} {
		_, err := New(Config{Cores: n})
		if err == nil || !strings.Contains(err.Error(), "at most 1024 cores") {
			t.Errorf("%d cores: %v, want a refusal", n, err)
		}
	}
	if _, err := New(Config{Cores: MaxCores}); err != nil {
		t.Errorf("%d cores: %v", MaxCores, err)
	}
}

// TestLargeMachineMakesFewRings: a 64-core machine boots, runs SIPs that
// migrate and stops, holding far fewer than the 64×63 rings between cores
// an eager wiring made, and far less memory than they took.
func TestLargeMachineMakesFewRings(t *testing.T) {
	const cores = 64
	end := make(chan struct{})
	spin, short, _ := yieldModules(t, end, nil, nil)
	ringBytes := uint64(DefaultRingSlots*(urpc.LineSize+int(unsafe.Sizeof(any(nil)))) + int(unsafe.Sizeof(urpc.Ring{})))
	eager := uint64(cores*(cores-1)) * ringBytes
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := New(Config{Cores: cores})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	// Four SIPs on one core: the balancer spreads them.
	sips := []*SIP{NewSIP(short), NewSIP(short), NewSIP(short), NewSIP(short)}
	for _, s := range sips {
		m.Spawn(s, 5)
	}
	x := NewSIP(spin)
	m.Spawn(x, 7)
	m.Deliver(40, KillSIP{S: x}) // from a core far from x's, by its home
	waitDone(t, x, "kill on a 64-core machine")
	close(end)
	for _, s := range sips {
		<-s.Done()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	rings := m.Rings()
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d cores: %d rings between cores (eager: %d), heap grew %.1f MB (eager rings alone: %.1f MB)",
		cores, rings, cores*(cores-1), float64(grew)/1e6, float64(eager)/1e6)
	if rings > cores*(cores-1)/4 {
		t.Errorf("%d rings between cores, want far fewer than %d", rings, cores*(cores-1))
	}
	if grew > int64(eager/4) {
		t.Errorf("the machine took %d bytes of heap, want far less than the %d of eager rings", grew, eager)
	}
}
