package kernel

import (
	"context"
	"testing"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

type wakeMsg struct{ s *SIP }

func (w wakeMsg) Deliver(c *Core) { c.Wake(w.s) }

// TestBlockWakeAcrossCores: a SIP on core 0 blocks; a SIP on core 1 sends
// core 0 a Deliverable that wakes it. A wake that comes before the block is
// kept (no lost wake-up).
func TestBlockWakeAcrossCores(t *testing.T) {
	ctx := context.Background()
	waiters := make(chan *SIP, 1)
	var waiter *SIP
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "block", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			waiters <- s
			s.Block()
		}},
		{Name: "poke", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			if waiter == nil {
				waiter = <-waiters // blocks the poker's core until the waiter is known; fine in a test
			}
			s.Core().SendTo(waiter.Core().ID(), wakeMsg{waiter})
		}},
		{Name: "selfwake", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			s.Core().Wake(s) // before blocking: remembered
			s.Block()        // returns at once
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	imports := [][2]string{{"env", "block"}, {"env", "poke"}, {"env", "selfwake"}}
	load := func(body []byte) *sandbox.Module {
		mod, err := rt.Load(ctx, testprog.Module(imports, body))
		if err != nil {
			t.Fatal(err)
		}
		return mod
	}
	blocker := load([]byte{0x10, 0, 0x10, 2}) // block; selfwake
	poker := load([]byte{0x10, 1})
	m, _ := New(Config{Cores: 2})
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	a, b := NewSIP(blocker), NewSIP(poker)
	m.Spawn(a, 0)
	m.Spawn(b, 1)
	<-b.Done()
	<-a.Done()
	if a.Result().Status() != 0 || b.Result().Status() != 0 {
		t.Fatalf("blocker %+v, poker %+v", a.Result(), b.Result())
	}
}

// TestStopKillsBlockedSIPs: Stop ends a SIP that nobody will ever wake.
func TestStopKillsBlockedSIPs(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{})
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "block", Fn: func(c *sandbox.Call, _ []uint64) { close(started); SIPOf(c).Block() }},
	}}
	rt, _ := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "block"}}, []byte{0x10, 0}))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(Config{Cores: 1})
	m.Boot()
	s := NewSIP(mod)
	m.Spawn(s, 0)
	<-started
	m.Stop()
	<-s.Done()
	if !s.Result().Killed {
		t.Fatalf("%+v", s.Result())
	}
}

// TestOnExitRunsOnTheOwningCore: the exit hook sees every SIP end, on the
// core that owned it, before Done closes.
func TestOnExitRunsOnTheOwningCore(t *testing.T) {
	ctx := context.Background()
	rt, _ := sandbox.NewRuntime(ctx, sandbox.Config{}, nil)
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module(nil, []byte{}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	var mu = make(chan struct{}, 1)
	m, _ := New(Config{Cores: 2, OnExit: []ExitHook{ExitFunc(func(c *Core, s *SIP) {
		mu <- struct{}{}
		seen[s.PID()] = c.ID()
		<-mu
		if s.Core() != c {
			t.Errorf("SIP %d ended on core %d, which does not own it", s.PID(), c.ID())
		}
	})}})
	m.Boot()
	var sips []*SIP
	for i := 0; i < 10; i++ {
		s := NewSIP(mod)
		m.Spawn(s, i%2)
		sips = append(sips, s)
	}
	for _, s := range sips {
		<-s.Done()
		mu <- struct{}{}
		_, ok := seen[s.PID()]
		<-mu
		if !ok {
			t.Errorf("SIP %d ended without the exit hook", s.PID())
		}
	}
	m.Stop()
}

type fnDeliver func(c *Core)

func (f fnDeliver) Deliver(c *Core) { f(c) }

type wakeTarget struct {
	s  *SIP
	at chan int
}

func (w wakeTarget) Target() *SIP { return w.s }
func (w wakeTarget) Deliver(c *Core) {
	w.at <- c.ID()
	c.Wake(w.s)
}

// deliverToMovedSIP runs a SIP that blocks on core 1 and one on core 0 that
// makes the core the blocked SIP is not on believe it gave that SIP away to
// the SIP's core, then calls send from there to reach the SIP through that
// other core. It returns the blocked SIP's core and how many deliveries the
// other core forwarded.
func deliverToMovedSIP(t *testing.T, send func(c *Core, other int, x *SIP)) (home int, forwarded uint64) {
	t.Helper()
	ctx := context.Background()
	blocked := make(chan *SIP, 1)
	go1 := make(chan struct{})
	homeCh := make(chan int, 1)
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "block", Fn: func(c *sandbox.Call, _ []uint64) { s := SIPOf(c); blocked <- s; s.Block() }},
		{Name: "send", Fn: func(c *sandbox.Call, _ []uint64) {
			core := SIPOf(c).Core()
			x := <-blocked
			// x is blocked, so it stays where it is (balancing moves only
			// runnable SIPs). Pretend the other core gave it away to there.
			home := x.Core().ID()
			other := 1 - home
			homeCh <- home
			core.SendTo(other, fnDeliver(func(c *Core) { c.forward[x] = home }))
			<-go1
			send(core, other, x)
		}},
	}}
	rt, _ := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	defer rt.Close(ctx)
	imports := [][2]string{{"env", "block"}, {"env", "send"}}
	blocker, _ := rt.Load(ctx, testprog.Module(imports, []byte{0x10, 0}))
	sender, _ := rt.Load(ctx, testprog.Module(imports, []byte{0x10, 1}))
	m, _ := New(Config{Cores: 2})
	m.Boot()
	defer m.Stop()
	x, y := NewSIP(blocker), NewSIP(sender)
	m.Spawn(x, 1)
	m.Spawn(y, 0)
	close(go1)
	<-x.Done()
	<-y.Done()
	m.Stop()
	home = <-homeCh
	return home, m.Stats()[1-home].Forwarded
}

// TestDeliveryFollowsAMovedSIP: a SIPDeliverable sent to a core that gave
// the SIP away is forwarded to where the SIP went.
func TestDeliveryFollowsAMovedSIP(t *testing.T) {
	at := make(chan int, 1)
	home, forwarded := deliverToMovedSIP(t, func(c *Core, other int, x *SIP) {
		c.SendTo(other, wakeTarget{s: x, at: at})
	})
	if got := <-at; got != home {
		t.Errorf("delivered on core %d, want core %d where the SIP is", got, home)
	}
	if forwarded != 1 {
		t.Errorf("core %d forwarded %d deliveries, want 1", 1-home, forwarded)
	}
}

type dataTarget struct {
	s  *SIP
	at chan int
	// got receives a copy of the data delivered.
	got chan []byte
}

func (d dataTarget) Target() *SIP { return d.s }
func (d dataTarget) DeliverData(c *Core, data []byte) {
	d.at <- c.ID()
	d.got <- append([]byte(nil), data...)
	c.Wake(d.s)
}

// TestDataDeliveryFollowsAMovedSIP: a DataDeliverable sent to a core that
// gave the SIP away is forwarded, data and all, to where the SIP went.
func TestDataDeliveryFollowsAMovedSIP(t *testing.T) {
	at, got := make(chan int, 1), make(chan []byte, 1)
	payload := []byte("fifty-six bytes at most travel in the slot itself, ok?")
	home, forwarded := deliverToMovedSIP(t, func(c *Core, other int, x *SIP) {
		c.SendData(other, dataTarget{s: x, at: at, got: got}, payload[:9], payload[9:])
	})
	if c := <-at; c != home {
		t.Errorf("delivered on core %d, want core %d where the SIP is", c, home)
	}
	if d := <-got; string(d) != string(payload) {
		t.Errorf("delivered %q, want %q", d, payload)
	}
	if forwarded != 1 {
		t.Errorf("core %d forwarded %d deliveries, want 1", 1-home, forwarded)
	}
}
