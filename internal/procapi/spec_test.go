package procapi

import (
	"testing"

	"isle/internal/abi/spec"
)

// TestHandlersBindSpec checks that every process function the ABI's spec
// declares has a handler with its arity, and that nothing else is bound.
func TestHandlersBindSpec(t *testing.T) {
	var a API
	h := a.handlers()
	seen := map[string]bool{}
	for _, f := range spec.Funcs() {
		if f.Part != spec.Proc {
			continue
		}
		seen[f.Name] = true
		if h[f.Name] == nil {
			t.Errorf("%s: declared in the spec, no handler", f.Name)
		}
	}
	for name := range h {
		if !seen[name] {
			t.Errorf("%s: bound, but not a process function of the spec", name)
		}
	}
	hm := a.HostModule()
	if len(hm.Funcs) != len(seen) {
		t.Errorf("module has %d process functions, the spec %d", len(hm.Funcs), len(seen))
	}
}
