package guest

import (
	"testing"
	"unsafe"
)

// TestInfoLayout checks Info against struct isle_recv_info as the spec lays
// it out (the offsets in abi.go are generated from internal/abi/spec).
func TestInfoLayout(t *testing.T) {
	var i Info
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"Msg", unsafe.Offsetof(i.Msg), infoMsg},
		{"Len", unsafe.Offsetof(i.Len), infoLen},
		{"Index", unsafe.Offsetof(i.Index), infoIndex},
		{"Flags", unsafe.Offsetof(i.Flags), infoFlags},
		{"NBlocks", unsafe.Offsetof(i.NBlocks), infoNblocks},
		{"Blocks", unsafe.Offsetof(i.Blocks), infoBlocks},
	} {
		if c.got != c.want {
			t.Errorf("Info.%s at %d, spec %d", c.name, c.got, c.want)
		}
	}
	if len(i.Blocks) != MaxBlocks {
		t.Errorf("Info.Blocks has %d, spec %d", len(i.Blocks), MaxBlocks)
	}
	if got := ErrClosed.Error(); got != "isle: channel closed" {
		t.Errorf("ErrClosed: %q", got)
	}
}
