package bench

import "testing"

func TestParseFileio(t *testing.T) {
	got, err := parseFileio("write_ns 10\nread_ns 20\nsmall_ns 30\n")
	if err != nil || got["write_ns"] != 10 || got["read_ns"] != 20 || got["small_ns"] != 30 {
		t.Errorf("parseFileio: %v, %v", got, err)
	}
	for _, bad := range []string{"", "write_ns 10\nread_ns 20\n", "write_ns x\nread_ns 1\nsmall_ns 1\n"} {
		if _, err := parseFileio(bad); err == nil {
			t.Errorf("parseFileio(%q) took it", bad)
		}
	}
	if len(fileioWasm) < 8 || string(fileioWasm[:4]) != "\x00asm" {
		t.Error("bench/wasi/fileio.wasm is not embedded")
	}
}
