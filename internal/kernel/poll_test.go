package kernel

import (
	"bytes"
	"context"
	"testing"
	"time"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// blockingModule loads a module that calls env.block once, with a host
// function that tells blocked when it is about to block.
func blockingModule(t *testing.T, blocked chan<- *SIP) (*sandbox.Module, func()) {
	t.Helper()
	ctx := context.Background()
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "block", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			blocked <- s
			s.Block()
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "block"}}, []byte{0x10, 0}))
	if err != nil {
		t.Fatal(err)
	}
	return mod, func() { rt.Close(ctx) }
}

// pollingMachine boots a one-core machine whose poll window outlasts any
// test and spawns a SIP of mod that blocks at once; it returns when the SIP
// is about to block.
func pollingMachine(t *testing.T, mod *sandbox.Module, blocked <-chan *SIP) (*Machine, *SIP) {
	t.Helper()
	m, err := New(Config{Cores: 1, PollWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	s := NewSIP(mod)
	m.Spawn(s, 0)
	<-blocked
	return m, s
}

// TestBlockedAlonePolls: a SIP that blocks alone on its core is woken
// without leaving its coroutine (one switch into it in all), and the time
// it waited is the core's idle time, not the SIP's CPU time.
//
// The charge is read on the SIP's own coroutine just before and just after
// its Block, beside the wall time the Block took: a correct account charges
// the Block only for the few instructions around the poll, so it is a small
// share of the wait however long the host deschedules the core's thread
// during it (on a loaded host the wait itself may last far longer than the
// test's 30 ms). Charging the poll to the SIP makes the two equal.
func TestBlockedAlonePolls(t *testing.T) {
	blocked := make(chan *SIP, 1)
	var charged, waited time.Duration
	ctx := context.Background()
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "block", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			blocked <- s
			cpu, t0 := s.CPUTimeNow(), time.Now()
			s.Block()
			charged, waited = time.Duration(s.CPUTimeNow()-cpu), time.Since(t0)
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "block"}}, []byte{0x10, 0}))
	if err != nil {
		t.Fatal(err)
	}
	m, s := pollingMachine(t, mod, blocked)
	const wait = 30 * time.Millisecond
	time.Sleep(wait)
	m.Deliver(0, wakeMsg{s})
	<-s.Done()
	if st := s.Result().Status(); st != 0 {
		t.Fatalf("status %d", st)
	}
	m.Stop()
	if sw := m.Stats()[0].Switches; sw != 1 {
		t.Fatalf("%d switches into the SIP, want 1: its block did not poll", sw)
	}
	if waited < wait {
		t.Fatalf("the Block returned after %v, before the %v wait ended", waited, wait)
	}
	if charged > waited/10 {
		t.Errorf("the SIP was charged %v of CPU for a Block of %v", charged, waited)
	}
	if busy := time.Duration(m.Stats()[0].Busy); busy != time.Duration(s.CPUTime()) {
		t.Errorf("the core counted %v busy, the SIP %v", busy, time.Duration(s.CPUTime()))
	}
}

// TestKillWhilePolling: a SIP killed while its Block polls ends killed, on
// its core's loop rather than on its own coroutine, and the core goes on.
func TestKillWhilePolling(t *testing.T) {
	blocked := make(chan *SIP, 2)
	mod, done := blockingModule(t, blocked)
	defer done()
	m, s := pollingMachine(t, mod, blocked)
	m.Deliver(0, KillSIP{s})
	<-s.Done()
	if !s.Result().Killed {
		t.Fatalf("%+v, want killed", s.Result())
	}
	next := NewSIP(mod)
	m.Spawn(next, 0)
	<-blocked
	m.Deliver(0, wakeMsg{next})
	<-next.Done()
	if st := next.Result().Status(); st != 0 {
		t.Fatalf("the next SIP: status %d", st)
	}
}

// TestPollYieldsToNewWork: a SIP that arrives while another polls in its
// Block runs at once: the poll gives the core back to the loop.
func TestPollYieldsToNewWork(t *testing.T) {
	blocked := make(chan *SIP, 1)
	mod, done := blockingModule(t, blocked)
	defer done()
	ctx := context.Background()
	rt, _ := sandbox.NewRuntime(ctx, sandbox.Config{}, nil)
	defer rt.Close(ctx)
	empty, err := rt.Load(ctx, testprog.Module(nil, []byte{}))
	if err != nil {
		t.Fatal(err)
	}
	m, s := pollingMachine(t, mod, blocked)
	other := NewSIP(empty)
	m.Spawn(other, 0)
	select {
	case <-other.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a SIP spawned while another polled did not run")
	}
	select {
	case <-s.Done():
		t.Fatal("the blocked SIP ended without a wake")
	default:
	}
	m.Deliver(0, wakeMsg{s})
	<-s.Done()
}

// followWake wakes a SIP wherever it has gone.
type followWake struct{ s *SIP }

func (w followWake) Target() *SIP    { return w.s }
func (w followWake) Deliver(c *Core) { c.Wake(w.s) }

// TestCrossCoreBounce: two SIPs on two cores wake each other rounds times,
// each alone on its core, so that their Blocks poll and handle the other
// core's messages on the SIPs' coroutines (run it with -race).
func TestCrossCoreBounce(t *testing.T) {
	ctx := context.Background()
	const rounds = 200
	var sips [2]*SIP
	started, ready := make(chan struct{}, 2), make(chan struct{})
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		// Both SIPs run before either sends: a wake must not reach a core
		// before the SIP it wakes.
		{Name: "start", Fn: func(c *sandbox.Call, _ []uint64) {
			started <- struct{}{}
			<-ready
		}},
		{Name: "bounce", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			me := 0
			if s == sips[1] {
				me = 1
			}
			// The balancer may have moved the peer (it moves runnable
			// SIPs): the wake follows it.
			s.Core().SendTo(1-me, followWake{sips[1-me]})
			s.Block()
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "start"}, {"env", "bounce"}},
		append([]byte{0x10, 0}, bytes.Repeat([]byte{0x10, 1}, rounds)...)))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(Config{Cores: 2, PollWindow: time.Second})
	m.Boot()
	defer m.Stop()
	sips[0], sips[1] = NewSIP(mod), NewSIP(mod)
	m.Spawn(sips[0], 0)
	m.Spawn(sips[1], 1)
	<-started
	<-started
	close(ready)
	for _, s := range sips {
		<-s.Done()
		if st := s.Result().Status(); st != 0 {
			t.Fatalf("status %d", st)
		}
	}
}
