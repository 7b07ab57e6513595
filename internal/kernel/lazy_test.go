package kernel

import (
	"context"
	"testing"
	"time"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// lazyMachine boots a one-core machine with a counting service, waits
// until the service's worker sleeps, and loads a program whose body is
// body, importing env.post (*posts lazy posts to the service, noting after
// each whether the worker still sleeps) and env.tick (the preemption hook).
func lazyMachine(t *testing.T, posts *int, armedAtPost *[]bool, body []byte) (*Machine, *countService, *sandbox.Module, func()) {
	t.Helper()
	ctx := context.Background()
	var svc ServiceID
	var m *Machine
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "post", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			bell := m.services[svc].bell
			for range *posts {
				s.PostLazy(svc, &Request{})
				*armedAtPost = append(*armedAtPost, bell.Armed())
			}
		}},
		{Name: "tick", Fn: func(c *sandbox.Call, _ []uint64) { Preempt(c) }},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "post"}, {"env", "tick"}}, body))
	if err != nil {
		t.Fatal(err)
	}
	m, err = New(Config{Cores: 1, Slice: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countService{}
	svc = m.AddService("count", cs)
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	// Wait until the worker sleeps on its doorbell, so that a post it is
	// not woken for stays unserved (a flag the worker sets: no event).
	bell := m.services[svc].bell
	deadline := time.Now().Add(10 * time.Second)
	for !bell.Armed() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	if !bell.Armed() {
		t.Fatal("the service's worker never slept")
	}
	return m, cs, mod, func() { m.Stop(); rt.Close(ctx) }
}

// TestLazyPostsRungInBatches: lazy posts leave a sleeping service asleep
// until lazyBatch of them wait, then the core rings its doorbell once.
func TestLazyPostsRungInBatches(t *testing.T) {
	posts := lazyBatch
	var armed []bool
	// call post; then return
	m, cs, mod, stop := lazyMachine(t, &posts, &armed, []byte{0x10, 0x00})
	defer stop()
	s := NewSIP(mod)
	if err := m.Spawn(s, 0); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if len(armed) != lazyBatch {
		t.Fatalf("%d posts made, want %d", len(armed), lazyBatch)
	}
	for i, a := range armed[:lazyBatch-1] {
		if !a {
			t.Fatalf("the service was woken by lazy post %d of %d", i+1, lazyBatch)
		}
	}
	if armed[lazyBatch-1] {
		t.Errorf("the service still slept after %d lazy posts", lazyBatch)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cs.n.Load() < int64(lazyBatch) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond) // a count the worker keeps: no event to wait on
	}
	if got := cs.n.Load(); got != int64(lazyBatch) {
		t.Errorf("the service served %d requests, want %d", got, lazyBatch)
	}
}

// TestLazyPostServedWhileItsSIPRuns: one lazy post, then a loop that never
// suspends but for preemption: the post is rung at the end of the SIP's
// slice, so the service serves it while the SIP still runs.
func TestLazyPostServedWhileItsSIPRuns(t *testing.T) {
	posts := 1
	var armed []bool
	// call post; loop: call tick; br 0
	m, cs, mod, stop := lazyMachine(t, &posts, &armed, []byte{0x10, 0x00, 0x03, 0x40, 0x10, 0x01, 0x0C, 0x00, 0x0B})
	defer stop()
	s := NewSIP(mod)
	if err := m.Spawn(s, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cs.n.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond) // a count the worker keeps: no event to wait on
	}
	if cs.n.Load() != 1 {
		t.Fatal("a lazy post was never served while its SIP ran")
	}
	select {
	case <-s.Done():
		t.Fatal("the spinning SIP ended")
	default:
	}
	if len(armed) != 1 || !armed[0] {
		t.Errorf("the post woke the service at once (armed after it: %v)", armed)
	}
}
