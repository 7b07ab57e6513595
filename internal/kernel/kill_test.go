package kernel

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// migrateTo is a test's forced migration: delivered to the core that owns
// s, it gives s to core to if s is runnable there, and reports on moved
// whether it did.
type migrateTo struct {
	s     *SIP
	to    int
	moved chan bool
}

func (m migrateTo) Target() *SIP { return m.s }
func (m migrateTo) Deliver(c *Core) {
	ok := c.Owns(m.s) && m.s.ent.Queued() && c.polling != m.s && m.to != c.id
	if ok {
		c.bal.migrate(&m.s.ent, m.to)
	}
	if m.moved != nil {
		m.moved <- ok
	}
}

// yieldModules loads a module that yields forever (spin) and one that
// yields until end is closed and then exits with status 0 (short), with a
// host function stall that holds its core's goroutine until release is
// closed.
func yieldModules(t *testing.T, end, release <-chan struct{}, stalled chan<- struct{}) (spin, short, stall *sandbox.Module) {
	t.Helper()
	ctx := context.Background()
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "yield", Fn: func(c *sandbox.Call, _ []uint64) { SIPOf(c).Yield() }},
		{Name: "stall", Fn: func(c *sandbox.Call, _ []uint64) { stalled <- struct{}{}; <-release }},
		{Name: "yieldOrExit", Fn: func(c *sandbox.Call, _ []uint64) {
			select {
			case <-end:
				c.Exit(0)
			default:
				SIPOf(c).Yield()
			}
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	imports := [][2]string{{"env", "yield"}, {"env", "stall"}, {"env", "yieldOrExit"}}
	load := func(body []byte) *sandbox.Module {
		mod, err := rt.Load(ctx, testprog.Module(imports, body))
		if err != nil {
			t.Fatal(err)
		}
		return mod
	}
	spin = load([]byte{0x03, 0x40, 0x10, 0x00, 0x0C, 0x00, 0x0B})  // loop: call yield; br 0
	short = load([]byte{0x03, 0x40, 0x10, 0x02, 0x0C, 0x00, 0x0B}) // loop: call yieldOrExit; br 0
	stall = load([]byte{0x10, 0x01})
	return spin, short, stall
}

func bootCores(t *testing.T, n int) *Machine {
	t.Helper()
	m, err := New(Config{Cores: n})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func waitDone(t *testing.T, s *SIP, what string) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the SIP still runs after 10 s: the kill was lost", what)
	}
	if st := s.Result().Status(); st != 137 {
		t.Fatalf("%s: status %d, want 137", what, st)
	}
}

// TestKillReachesAMovedSIP: a kill sent to a core that never had the SIP
// (core 2), after the SIP moved from its home (core 0) to core 1, reaches
// it; a second kill of the dead SIP does nothing.
func TestKillReachesAMovedSIP(t *testing.T) {
	spin, _, _ := yieldModules(t, nil, nil, nil)
	m := bootCores(t, 3)
	x := NewSIP(spin)
	m.Spawn(x, 0)
	moved := make(chan bool, 1)
	m.Deliver(0, migrateTo{s: x, to: 1, moved: moved})
	if !<-moved {
		t.Fatal("the forced migration did not happen")
	}
	m.Deliver(2, KillSIP{S: x})
	waitDone(t, x, "kill sent to a core the SIP never was on")
	m.Deliver(2, KillSIP{S: x})
	m.Deliver(1, KillSIP{S: x})
	m.Stop()
	if st := m.Stats(); st[0].Exits+st[1].Exits+st[2].Exits != 1 {
		t.Errorf("exits %d %d %d, want one in all", st[0].Exits, st[1].Exits, st[2].Exits)
	}
}

// TestKillOvertakesAMigration: a kill reaches core 1 before the SIP it is
// for, which core 2 has sent there and which is still in flight (core 1 is
// held while both are sent, and drains the ring from core 0, which carries
// the kill, before the ring from core 2). The kill must follow the SIP, not
// be dropped.
func TestKillOvertakesAMigration(t *testing.T) {
	release, stalled := make(chan struct{}), make(chan struct{}, 1)
	spin, _, stall := yieldModules(t, nil, release, stalled)
	m := bootCores(t, 3)
	x, holder := NewSIP(spin), NewSIP(stall)
	m.Spawn(x, 2)
	m.Spawn(holder, 1)
	<-stalled // core 1's goroutine is held in the host function
	sent := make(chan struct{})
	m.Deliver(0, fnDeliver(func(c *Core) { c.SendTo(1, KillSIP{S: x}); close(sent) }))
	<-sent
	moved := make(chan bool, 1)
	m.Deliver(2, migrateTo{s: x, to: 1, moved: moved})
	if !<-moved {
		t.Fatal("the forced migration did not happen")
	}
	close(release)
	waitDone(t, x, "kill that came before the SIP")
}

// TestForwardingReclaimedOnExit: SIPs forced to migrate many times, then
// ending (half by exit, half killed), leave no forwarding entry and no live
// count on any core.
func TestForwardingReclaimedOnExit(t *testing.T) {
	end := make(chan struct{})
	_, short, _ := yieldModules(t, end, nil, nil)
	const cores, sips = 4, 40
	m := bootCores(t, cores)
	rng := rand.New(rand.NewPCG(1, 2))
	all := make([]*SIP, sips)
	for i := range all {
		all[i] = NewSIP(short)
		m.Spawn(all[i], i%cores)
	}
	const rounds = 30
	moved := make(chan bool, rounds*sips)
	for round := 0; round < rounds; round++ {
		for _, s := range all {
			m.Deliver(rng.IntN(cores), migrateTo{s: s, to: rng.IntN(cores), moved: moved})
		}
	}
	migrations := 0
	for range rounds * sips {
		if <-moved {
			migrations++
		}
	}
	close(end)
	for i, s := range all {
		if i%2 == 0 {
			m.Deliver(rng.IntN(cores), KillSIP{S: s})
		}
	}
	for _, s := range all {
		<-s.Done()
	}
	if migrations < sips {
		t.Fatalf("only %d forced migrations", migrations)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		live, fwd := m.Census()
		if live == 0 && fwd == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d migrations and every exit: %d live, %d forwarding entries", migrations, live, fwd)
		}
		time.Sleep(time.Millisecond) // waiting for the forget messages, not a synchronisation
	}
	m.Stop()
	for _, c := range m.cores {
		if len(c.forward) != 0 || len(c.owned) != 0 || len(c.held) != 0 {
			t.Errorf("core %d keeps %d forwarding entries, %d owned, %d held", c.id, len(c.forward), len(c.owned), len(c.held))
		}
	}
	t.Logf("%d forced migrations", migrations)
}

// gateService holds each request until gate is closed, and says on held
// when it has one.
type gateService struct {
	held chan struct{}
	gate chan struct{}
}

func (g *gateService) Serve(*Request) { g.held <- struct{}{}; <-g.gate }

// TestKillWhileWaitingOrSleeping: a kill that comes while the SIP's request
// is with a service ends it when the reply comes back, once; a kill that
// comes while it sleeps ends it at once.
func TestKillWhileWaitingOrSleeping(t *testing.T) {
	ctx := context.Background()
	var svc ServiceID
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "call", Fn: func(c *sandbox.Call, _ []uint64) { s := SIPOf(c); s.Request(); s.Call(svc) }},
		{Name: "nap", Fn: func(c *sandbox.Call, _ []uint64) { s := SIPOf(c); s.SleepUntil(s.Machine().Now() + int64(time.Hour)) }},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	imports := [][2]string{{"env", "call"}, {"env", "nap"}}
	caller, err := rt.Load(ctx, testprog.Module(imports, []byte{0x10, 0x00}))
	if err != nil {
		t.Fatal(err)
	}
	napper, err := rt.Load(ctx, testprog.Module(imports, []byte{0x10, 0x01}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	g := &gateService{held: make(chan struct{}, 1), gate: make(chan struct{})}
	svc = m.AddService("gate", g)
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	w := NewSIP(caller)
	m.Spawn(w, 0)
	<-g.held
	m.Deliver(1, KillSIP{S: w}) // from the other core, by w's home
	m.Deliver(0, KillSIP{S: w}) // twice
	close(g.gate)
	waitDone(t, w, "killed while waiting for a service")

	n := NewSIP(napper)
	m.Spawn(n, 1)
	// Whether the kill comes before or after the SIP goes to sleep, it ends it.
	m.Deliver(0, KillSIP{S: n})
	waitDone(t, n, "killed while sleeping")
	m.Stop()
	var exits uint64
	for _, c := range m.Stats() {
		exits += c.Exits
	}
	if exits != 2 {
		t.Errorf("%d exits, want 2", exits)
	}
}

// TestKillBeforeTheSpawnArrives: a kill forwarded to a SIP's home before
// the controller's spawn message for it has been read there (core 1 is
// held while the spawn and the kill are sent, and drains the rings from
// other cores before the controller's) is held until the SIP arrives, then
// carried out: the SIP never runs.
func TestKillBeforeTheSpawnArrives(t *testing.T) {
	release, stalled := make(chan struct{}), make(chan struct{}, 1)
	spin, _, stall := yieldModules(t, nil, release, stalled)
	m := bootCores(t, 2)
	holder := NewSIP(stall)
	m.Spawn(holder, 1)
	<-stalled
	x := NewSIP(spin)
	m.Spawn(x, 1)
	sent := make(chan struct{})
	m.Deliver(0, fnDeliver(func(c *Core) { c.deliver(KillSIP{S: x}); close(sent) }))
	<-sent
	close(release)
	waitDone(t, x, "kill that came before the spawn")
	if x.CPUTime() != 0 {
		t.Errorf("the SIP ran for %d ns before the kill", x.CPUTime())
	}
}
