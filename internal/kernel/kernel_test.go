package kernel

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// countService counts requests and answers each with its Off + 1.
type countService struct{ n atomic.Int64 }

func (c *countService) Serve(r *Request) {
	c.n.Add(1)
	r.N = r.Off + 1
}

// testHost offers env.req (a service call that must come back answered),
// env.yield and env.nap (a sleep of 1 ms).
func testHost(svc *ServiceID, bad *atomic.Int64) sandbox.HostModule {
	return sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "req", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			r := s.Request()
			r.Off = s.PID()
			if rep := s.Call(*svc); rep.N != s.PID()+1 {
				bad.Add(1)
			}
		}},
		{Name: "yield", Fn: func(c *sandbox.Call, _ []uint64) { SIPOf(c).Yield() }},
		{Name: "nap", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			s.SleepUntil(s.Machine().Now() + 1e6)
		}},
	}}
}

// loopCalling is a body calling import idx n times: a counter in local 0.
func loopCalling(idx byte, n byte) []byte {
	return []byte{
		0x03, 0x40, // loop
		0x10, idx, // call idx
		0x20, 0x00, 0x41, 0x01, 0x6A, 0x22, 0x00, // local.get 0; i32.const 1; i32.add; local.tee 0
		0x41, n, 0x49, 0x0D, 0x00, // i32.const n; i32.lt_u; br_if 0
		0x0B,
	}
}

func TestSIPsCallYieldAndSleepOnEveryCore(t *testing.T) {
	ctx := context.Background()
	var svcID ServiceID
	var bad atomic.Int64
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{testHost(&svcID, &bad)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	imports := [][2]string{{"env", "req"}, {"env", "yield"}, {"env", "nap"}}
	var progs []*sandbox.Module
	for idx := byte(0); idx < 3; idx++ {
		body := loopCalling(idx, 20)
		wasm := testprog.Module(imports, append([]byte{}, body...))
		// The body uses one i32 local: patch the "0 local declarations" byte.
		wasm = withOneLocal(wasm)
		mod, err := rt.Load(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, mod)
	}
	// Two-slot rings: sends find rings full and go through the pending queue.
	m, err := New(Config{Cores: 3, RingSlots: 2})
	if err != nil {
		t.Fatal(err)
	}
	svc := &countService{}
	svcID = m.AddService("count", svc)
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	var sips []*SIP
	for i := 0; i < 60; i++ {
		s := NewSIP(progs[i%3])
		if err := m.Spawn(s, -1); err != nil {
			t.Fatal(err)
		}
		sips = append(sips, s)
	}
	for _, s := range sips {
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("SIP %d did not end", s.PID())
		}
		if r := s.Result(); r.Status() != 0 {
			t.Errorf("SIP %d: %+v", s.PID(), r)
		}
	}
	m.Stop()
	if got := svc.n.Load(); got != 20*20 {
		t.Errorf("service served %d requests, want 400", got)
	}
	if bad.Load() != 0 {
		t.Errorf("%d replies came back to the wrong SIP", bad.Load())
	}
	var switches, spawned uint64
	for _, c := range m.Stats() {
		switches += c.Switches
		spawned += c.SIPs
		if c.SIPs == 0 {
			t.Errorf("core %d ran no SIP", c.Core)
		}
	}
	// Each SIP that calls the service or sleeps switches in once per call
	// plus once to start; one that yields, at least once to start (a yield
	// the scheduler answers with the yielder keeps the core: yield.go).
	if spawned != 60 || switches < 40*21+20 {
		t.Errorf("spawned %d, switches %d", spawned, switches)
	}
}

// withOneLocal rewrites a testprog.Module with one function so that the
// function declares one i32 local.
func withOneLocal(wasm []byte) []byte {
	// The code section is last: id 10, size, count 1, body size, 0 decls, ...
	i := len(wasm) - 1
	for ; i >= 0; i-- {
		if wasm[i] == 10 && int(wasm[i+1]) == len(wasm)-i-2 {
			break
		}
	}
	body := wasm[i+5:]
	fn := append([]byte{1, 1, 0x7F}, body...)
	code := append([]byte{1, byte(len(fn))}, fn...)
	return append(append(append([]byte{}, wasm[:i]...), 10, byte(len(code))), code...)
}

func TestPingPongBetweenCores(t *testing.T) {
	m, err := New(Config{Cores: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	for _, pair := range [][2]int{{0, 1}, {2, 0}, {1, 2}} {
		d, err := m.PingPong(pair[0], pair[1], 2000)
		if err != nil || d <= 0 {
			t.Errorf("ping-pong %v: %v %v", pair, d, err)
		}
	}
	if _, err := m.PingPong(1, 1, 10); err == nil {
		t.Error("ping-pong of a core with itself was accepted")
	}
	st := m.Stop
	st()
	for _, c := range m.Stats() {
		if c.MsgsSent == 0 || c.MsgsRecv == 0 {
			t.Errorf("core %d: sent %d received %d", c.Core, c.MsgsSent, c.MsgsRecv)
		}
	}
}

func TestConfigRejected(t *testing.T) {
	for _, cfg := range []Config{{Cores: 0}, {Cores: -1}, {Cores: 2, RingSlots: 3}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func BenchmarkCoreMessage(b *testing.B) {
	m, _ := New(Config{Cores: 2})
	m.Boot()
	defer m.Stop()
	m.PingPong(0, 1, 1000)
	b.ResetTimer()
	d, _ := m.PingPong(0, 1, b.N)
	b.ReportMetric(float64(d.Nanoseconds()), "ns/oneway")
}
