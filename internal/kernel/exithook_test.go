package kernel

import (
	"context"
	"sync"
	"testing"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// orderHook records, per SIP, the hooks that were told of its end.
type orderHook struct {
	name string
	mu   *sync.Mutex
	seen map[int64][]string
}

func (h orderHook) OnExit(_ *Core, s *SIP) {
	h.mu.Lock()
	h.seen[s.PID()] = append(h.seen[s.PID()], h.name)
	h.mu.Unlock()
}

// TestExitHooksInOrder: every hook of Config.OnExit is told once of each
// SIP's end, in the list's order, before its Done channel closes, and the
// per-core Init functions all run, in order, before the cores' loops.
func TestExitHooksInOrder(t *testing.T) {
	ctx := context.Background()
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module(nil, []byte{}))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64][]string{}
	inits := map[int][]string{}
	initHook := func(name string) func(*Core) {
		return func(c *Core) {
			mu.Lock()
			inits[c.ID()] = append(inits[c.ID()], name)
			mu.Unlock()
		}
	}
	m, err := New(Config{Cores: 2,
		Init: []func(*Core){initHook("a"), initHook("b")},
		OnExit: []ExitHook{orderHook{"first", &mu, seen}, ExitFunc(func(c *Core, s *SIP) {
			orderHook{"second", &mu, seen}.OnExit(c, s)
		}), orderHook{"third", &mu, seen}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	var sips []*SIP
	for i := 0; i < 6; i++ {
		s := NewSIP(mod)
		if err := m.Spawn(s, i%2); err != nil {
			t.Fatal(err)
		}
		sips = append(sips, s)
	}
	for _, s := range sips {
		<-s.Done()
		mu.Lock()
		got := append([]string(nil), seen[s.PID()]...)
		mu.Unlock()
		if len(got) != 3 || got[0] != "first" || got[1] != "second" || got[2] != "third" {
			t.Errorf("SIP %d: exit hooks told %v, want [first second third]", s.PID(), got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for core := 0; core < 2; core++ {
		if got := inits[core]; len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("core %d: Init ran %v, want [a b]", core, got)
		}
	}
}
