package tables

import (
	"context"
	"runtime"
	"testing"
	"time"

	"isle/internal/kernel"
	"isle/internal/replica"
	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// The pattern the package doc promises for host functions: a SIP's host
// function writes, Blocks the SIP while the 2PC round runs, and the decision
// callback (on the same core) Wakes it. Twenty SIPs on three cores each
// write their own row; every write commits, is visible on the coordinating
// core when the callback runs, and the SIP resumes to its end.
func TestHostFunctionBlocksUntilDecision(t *testing.T) {
	const cores, sips = 3, 20
	ctx := context.Background()
	tb, err := New(cores, Config{Procs: Replicated})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		pid     int64
		outcome replica.Outcome
		visible bool
	}
	results := make(chan result, sips)
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "put", Fn: func(call *sandbox.Call, _ []uint64) {
			s := kernel.SIPOf(call)
			c := s.Core()
			key := PIDKey(s.PID())
			var r result
			o := tb.Procs().Put(c, key, Proc{PID: s.PID(), Core: c.ID(), State: Running}, func(o replica.Outcome) {
				r.outcome = o
				_, r.visible = tb.Procs().Get(c, key)
				c.Wake(s)
			})
			if o == replica.Pending {
				s.Block()
			} else {
				r.outcome, r.visible = o, true
			}
			r.pid = s.PID()
			results <- r
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "put"}}, []byte{0x10, 0x00}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := kernel.New(kernel.Config{Cores: cores, Init: []func(*kernel.Core){tb.Init}})
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(cores + 1)
	defer runtime.GOMAXPROCS(prev)
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	var all []*kernel.SIP
	for i := range sips {
		s := kernel.NewSIP(mod)
		if err := m.Spawn(s, i%cores); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for _, s := range all {
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("SIP %d never ended", s.PID())
		}
		if st := s.Result().Status(); st != 0 {
			t.Errorf("SIP %d: status %d", s.PID(), st)
		}
	}
	for range sips {
		r := <-results
		if r.outcome != replica.Committed || !r.visible {
			t.Errorf("pid %d: %v, visible on its core %v", r.pid, r.outcome, r.visible)
		}
	}
	if c := tb.Procs().Counts(); c.Committed != sips {
		t.Errorf("counts %+v", c)
	}
}
