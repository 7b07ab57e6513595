package abi

import (
	"strings"
	"testing"

	"isle/internal/abi/spec"
	"isle/internal/ipc"
)

// TestHandlersBindSpec checks that every channel function the ABI's spec
// declares has a handler, and that nothing else is bound.
func TestHandlersBindSpec(t *testing.T) {
	h := handlers()
	seen := map[string]bool{}
	for _, f := range Table() {
		seen[f.Name] = true
		if f.fn == nil {
			t.Errorf("%s: declared in the spec, no handler", f.Name)
		}
	}
	for name := range h {
		if !seen[name] {
			t.Errorf("%s: bound, but not a channel function of the spec", name)
		}
	}
}

// TestLayoutMatchesSpec ties the host's constants to the spec that the guest
// headers are generated from: the receive record's offsets, the Closed
// message's ID and the codes' values and texts.
func TestLayoutMatchesSpec(t *testing.T) {
	offsets := map[string]int{"msg": InfoMsg, "len": InfoLen, "index": InfoIndex, "flags": InfoFlags, "nblocks": InfoNBlocks}
	fields := spec.InfoFields()
	if len(fields) != len(offsets) {
		t.Fatalf("spec has %d info fields, the host %d", len(fields), len(offsets))
	}
	for i, f := range fields {
		if got, ok := offsets[f.Name]; !ok || got != 4*i {
			t.Errorf("info field %s: host offset %d (known %v), spec %d", f.Name, got, ok, 4*i)
		}
	}
	if InfoBlocks != 4*len(fields) {
		t.Errorf("InfoBlocks = %d, spec %d", InfoBlocks, 4*len(fields))
	}
	if ipc.MsgClosed != spec.MsgClosed {
		t.Errorf("ipc.MsgClosed = %#x, spec %#x", ipc.MsgClosed, spec.MsgClosed)
	}
	for _, c := range spec.Codes() {
		if got := ipc.Error(c.Value).Error(); got != "ipc: "+c.Text {
			t.Errorf("code %d: %q, spec %q", c.Value, got, c.Text)
		}
	}
	if got := ipc.Error(uint32(len(spec.Codes())) + 1).Error(); !strings.Contains(got, "unknown") {
		t.Errorf("a value past the codes: %q", got)
	}
}
