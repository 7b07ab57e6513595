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
// each how many times the service's doorbell has been rung since the worker
// slept) and env.tick (the preemption hook). The ring count, not the
// doorbell's armed flag, is what a post is judged by: a worker that was
// rung may serve everything and sleep again before the flag is read.
func lazyMachine(t *testing.T, posts *int, rungAtPost *[]uint64, body []byte) (*Machine, *countService, *sandbox.Module, func()) {
	t.Helper()
	ctx := context.Background()
	var svc ServiceID
	var m *Machine
	var slept uint64 // the doorbell's wake count once the worker slept
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "post", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			bell := m.services[svc].bell
			for range *posts {
				s.PostLazy(svc, &Request{})
				*rungAtPost = append(*rungAtPost, bell.Wakes()-slept)
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
	slept = bell.Wakes() // the worker sleeps without a timer: only a ring wakes it
	return m, cs, mod, func() { m.Stop(); rt.Close(ctx) }
}

// TestLazyPostsRungInBatches: lazy posts leave a sleeping service asleep
// until lazyBatch of them wait, then the core rings its doorbell once.
func TestLazyPostsRungInBatches(t *testing.T) {
	posts := lazyBatch
	var rung []uint64
	// call post; then return
	m, cs, mod, stop := lazyMachine(t, &posts, &rung, []byte{0x10, 0x00})
	defer stop()
	s := NewSIP(mod)
	if err := m.Spawn(s, 0); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if len(rung) != lazyBatch {
		t.Fatalf("%d posts made, want %d", len(rung), lazyBatch)
	}
	for i, n := range rung[:lazyBatch-1] {
		if n != 0 {
			t.Fatalf("the service was rung by lazy post %d of %d", i+1, lazyBatch)
		}
	}
	if n := rung[lazyBatch-1]; n != 1 {
		t.Errorf("the service was rung %d times by %d lazy posts, want once", n, lazyBatch)
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
	var rung []uint64
	// call post; loop: call tick; br 0
	m, cs, mod, stop := lazyMachine(t, &posts, &rung, []byte{0x10, 0x00, 0x03, 0x40, 0x10, 0x01, 0x0C, 0x00, 0x0B})
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
	if len(rung) != 1 || rung[0] != 0 {
		t.Errorf("the post rang the service at once (rings after it: %v)", rung)
	}
}
