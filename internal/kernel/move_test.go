package kernel

import (
	"context"
	"testing"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// TestMoveTo: a SIP that calls MoveTo runs on the core it named when the
// call returns (here 2, then 1), the cores count the migrations, and a core
// outside the machine moves nothing.
func TestMoveTo(t *testing.T) {
	ctx := context.Background()
	var path []int
	var refused bool
	host := sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "hop", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			path = append(path, s.Core().ID())
			for _, to := range []int{2, 1} {
				if !s.MoveTo(to) {
					t.Errorf("MoveTo(%d) refused", to)
				}
				path = append(path, s.Core().ID())
			}
			refused = !s.MoveTo(3) && !s.MoveTo(-1)
		}},
	}}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{host})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, testprog.Module([][2]string{{"env", "hop"}}, []byte{0x10, 0}))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(Config{Cores: 3})
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	s := NewSIP(mod)
	m.Spawn(s, 0)
	<-s.Done()
	m.Stop()
	if s.Result().Status() != 0 {
		t.Fatalf("%+v", s.Result())
	}
	if len(path) != 3 || path[0] != 0 || path[1] != 2 || path[2] != 1 {
		t.Errorf("the SIP ran on cores %v, want [0 2 1]", path)
	}
	if !refused {
		t.Error("MoveTo accepted a core outside the machine")
	}
	st := m.Stats()
	if st[0].MigratedOut != 1 || st[2].MigratedIn != 1 || st[2].MigratedOut != 1 || st[1].MigratedIn != 1 {
		t.Errorf("migrations: %+v", st)
	}
}
