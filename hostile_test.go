package isle_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"isle/internal/hostile"
	"isle/internal/testprog"
)

// TestHostile runs every attack in testdata/hostile/ beside an honest SIP
// (internal/hostile says how): the attacker gets the errors or the end it
// expects, the honest SIP's every round of file I/O, clock and spawns
// succeeds, and isle survives (a Go panic in any core or service would end
// this test binary). The honest SIP's rate beside each attack is logged
// against its rate alone; `isle bench hostile` reports it.
func TestHostile(t *testing.T) {
	root := testprog.Root(t)
	attacks, err := hostile.Attacks(filepath.Join(root, "testdata", "hostile"))
	if err != nil {
		t.Fatal(err)
	}
	s := &hostile.Setup{Root: root, Work: t.TempDir(), Config: config()}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base, err := s.Alone(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the honest SIP alone: %d rounds in %v (%.0f/s)", base.During, base.Elapsed.Round(time.Millisecond), base.Rate())
	for i := range attacks {
		a := &attacks[i]
		t.Run(a.Name, func(t *testing.T) {
			wasm, err := s.Build(a)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Run(ctx, a, wasm)
			if err != nil {
				t.Fatal(err)
			}
			if bad := a.Check(r); bad != nil {
				t.Errorf("%s; stdout:\n%s", strings.Join(bad, "; "), r.Out)
			}
			t.Logf("%v of attack; the honest SIP did %d rounds meanwhile, %.2f of its rate alone", r.Elapsed.Round(time.Millisecond), r.During, r.Rate()/base.Rate())
		})
	}
}

// TestHostileDirectives: a directive the harness does not know is an
// error, not an attack that checks nothing.
func TestHostileDirectives(t *testing.T) {
	a, err := hostile.Parse("x", "// isle-test: status 134\n// isle-test: stdout a b\n// isle-test: args 1 2\nint main(){}")
	if err != nil || a.Status != 134 || len(a.Stdout) != 1 || a.Stdout[0] != "a b" || len(a.Args) != 2 || a.Cores != 2 {
		t.Errorf("%+v, %v", a, err)
	}
	a, err = hostile.Parse("x", "// isle-test: limit memory-limit=256M\n// isle-test: limit machine-memory=1G\n// isle-test: limit max-procs=200\n")
	if err != nil || len(a.Limits) != 3 {
		t.Errorf("the budget limits: %+v, %v", a, err)
	}
	for _, bad := range []string{"// isle-test: statuss 1", "// isle-test: status x", "// isle-test: limit nosuch=1",
		"// isle-test: limit memory-limit=lots", "// isle-test: limit max-procs=0"} {
		if _, err := hostile.Parse("x", bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
